// Live dashboard: one card per (stream, symbol) with a 10-level ladder and a mid/EMA chart,
// fed by /ws/stream/. No library: DOM updates and canvas drawing are batched per frame.
(function () {
  "use strict";
  var DEPTH = 10, MAX_POINTS = 300, COLORS = ["#2f6fde", "#e8871e", "#2aa876", "#b04fcf"];
  var books = document.getElementById("books");
  var empty = document.getElementById("empty");
  var banner = document.getElementById("banner");
  var bannerText = document.getElementById("banner-text");
  var statusEl = document.getElementById("status");
  var cards = {};          // key -> {ladder, chart, state, book, series: {name: [[t, v]]}, dirty}
  var socket = null, retry = 0, retryTimer = null, lastMessage = 0, scheduled = false;

  function key(stream, symbol) { return stream + "\u0000" + symbol; }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(stream, symbol) {
    var k = key(stream, symbol);
    if (cards[k]) return cards[k];
    var section = el("section", { "class": "book card" });
    var head = el("header");
    head.appendChild(el("h2", {}, symbol));
    head.appendChild(el("span", { "class": "muted" }, stream));
    var state = el("span", { "class": "state" }, "");
    head.appendChild(state);
    section.appendChild(head);
    var ladder = el("table", { "class": "ladder", "data-symbol": symbol, "data-stream": stream });
    var thead = el("thead"), hr = el("tr");
    ["Bid size", "Bid", "Ask", "Ask size"].forEach(function (t) { hr.appendChild(el("th", {}, t)); });
    thead.appendChild(hr);
    ladder.appendChild(thead);
    var tbody = el("tbody");
    for (var i = 0; i < DEPTH; i++) {
      var row = el("tr", { "class": "level" });
      ["bid-size", "bid", "ask", "ask-size"].forEach(function (c) { row.appendChild(el("td", { "class": c }, "")); });
      tbody.appendChild(row);
    }
    ladder.appendChild(tbody);
    section.appendChild(ladder);
    var chart = el("canvas", { "class": "chart", "width": "480", "height": "160", "data-symbol": symbol });
    section.appendChild(chart);
    var legend = el("div", { "class": "legend" });
    section.appendChild(legend);
    // Cards stay in (symbol, stream) order whatever order their first updates arrive in.
    section.setAttribute("data-key", symbol + "\u0000" + stream);
    var after = null;
    for (var i = 0; i < books.children.length; i++) {
      var other = books.children[i].getAttribute("data-key");
      if (other !== null && other > symbol + "\u0000" + stream) { after = books.children[i]; break; }
    }
    books.insertBefore(section, after);
    empty.hidden = true;
    cards[k] = { ladder: ladder, rows: tbody.rows, chart: chart, legend: legend, state: state,
                 book: null, series: {}, dirty: true };
    return cards[k];
  }

  function addPoint(c, name, value) {
    if (!isFinite(value)) return;
    var s = c.series[name] || (c.series[name] = []);
    s.push([Date.now(), value]);
    if (s.length > MAX_POINTS) s.splice(0, s.length - MAX_POINTS);
    c.dirty = true;
  }

  function onEvent(data) {
    var c = card(data.stream, data.symbol);
    if (data.kind === "book_snapshot") {
      c.book = data;
      if (!c.series.mid && data.bids.length && data.asks.length) {
        // No mid metric (yet): derive it from the book so the chart is never blank.
        c.derivedMid = true;
      }
      if (c.derivedMid && data.bids.length && data.asks.length) {
        addPoint(c, "mid", (parseFloat(data.bids[0][0]) + parseFloat(data.asks[0][0])) / 2);
      }
      c.dirty = true;
    } else if (data.kind === "metric") {
      if (data.name === "mid") c.derivedMid = false;
      addPoint(c, data.name, Number(data.value));
    }
    schedule();
  }

  function schedule() {
    if (!scheduled) { scheduled = true; window.requestAnimationFrame(render); }
  }

  function render() {
    scheduled = false;
    for (var k in cards) {
      var c = cards[k];
      if (!c.dirty) continue;
      c.dirty = false;
      if (c.book) renderLadder(c);
      renderChart(c);
    }
  }

  function renderLadder(c) {
    var b = c.book;
    c.state.textContent = b.state || "";
    for (var i = 0; i < DEPTH; i++) {
      var cells = c.rows[i].cells, bid = b.bids[i], ask = b.asks[i];
      cells[0].textContent = bid ? bid[1] : "";
      cells[1].textContent = bid ? bid[0] : "";
      cells[2].textContent = ask ? ask[0] : "";
      cells[3].textContent = ask ? ask[1] : "";
    }
  }

  function renderChart(c) {
    var canvas = c.chart, ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    var names = Object.keys(c.series).sort(function (a, b) { return a === "mid" ? -1 : b === "mid" ? 1 : a < b ? -1 : 1; });
    var lo = Infinity, hi = -Infinity, t0 = Infinity, t1 = -Infinity;
    names.forEach(function (n) {
      c.series[n].forEach(function (p) {
        if (p[1] < lo) lo = p[1]; if (p[1] > hi) hi = p[1];
        if (p[0] < t0) t0 = p[0]; if (p[0] > t1) t1 = p[0];
      });
    });
    if (!isFinite(lo)) {
      ctx.fillStyle = "#888"; ctx.font = "12px sans-serif";
      ctx.fillText("waiting for prices…", 10, h / 2);
      return;
    }
    if (hi === lo) { hi += 1e-9 + Math.abs(hi) * 1e-6; lo -= 1e-9 + Math.abs(lo) * 1e-6; }
    if (t1 === t0) t1 = t0 + 1;
    var pad = 64;
    ctx.strokeStyle = "#ddd"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(pad, 4); ctx.lineTo(pad, h - 14); ctx.lineTo(w - 4, h - 14); ctx.stroke();
    ctx.fillStyle = "#666"; ctx.font = "10px sans-serif";
    ctx.fillText(hi.toPrecision(7), 2, 10);
    ctx.fillText(lo.toPrecision(7), 2, h - 2);
    c.legend.textContent = "";
    names.forEach(function (n, i) {
      var color = COLORS[i % COLORS.length], pts = c.series[n];
      ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
      pts.forEach(function (p, j) {
        var x = pad + (p[0] - t0) / (t1 - t0) * (w - pad - 6);
        var y = 4 + (hi - p[1]) / (hi - lo) * (h - 20);
        if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
      var item = el("span", { "class": "series" }, n + " " + pts[pts.length - 1][1].toPrecision(8));
      item.style.color = color;
      c.legend.appendChild(item);
    });
  }

  function setStatus(text, cls) { statusEl.textContent = text; statusEl.className = "status " + (cls || ""); }

  function connect() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    if (socket) { socket.onclose = null; socket.close(); }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/stream/";
    setStatus("connecting…");
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 0; lastMessage = Date.now();
      banner.hidden = true;
      setStatus("live", "ok");
      socket.send(JSON.stringify({ op: "subscribe", id: 1, topics: ["md.*.*.book", "an.*.*.*"] }));
    };
    socket.onmessage = function (message) {
      lastMessage = Date.now();
      var frame = JSON.parse(message.data);
      if (frame.op === "snapshot" || frame.op === "delta") onEvent(frame.data);
      else if (frame.op === "error") setStatus("error: " + frame.message, "bad");
    };
    socket.onclose = function () {
      socket = null;
      retry = Math.min(retry + 1, 5);
      var delay = Math.min(15, Math.pow(2, retry - 1));
      banner.hidden = false;
      bannerText.textContent = "Disconnected from the stream; reconnecting in " + delay + " s.";
      setStatus("disconnected", "bad");
      retryTimer = setTimeout(connect, delay * 1000);
    };
  }

  // No frame (not even a heartbeat) for 20 s: the connection is dead even if not closed.
  setInterval(function () {
    if (socket && socket.readyState === 1 && Date.now() - lastMessage > 20000) socket.close();
  }, 5000);
  document.getElementById("reconnect").addEventListener("click", connect);
  connect();
})();
