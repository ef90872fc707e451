"""The handler of book messages: levels -> BookDelta, snapshots, sync state, checksum.

Per symbol it keeps a :class:`~.levels.BookView` (to tell new from change, truncate to the
subscribed depth and verify checksums) and a :class:`~.booksync.SymbolSync`. A venue message
gives one BookDelta per level entry, ``batch_end`` on the last. Status events mark sync changes:
SYNCING (waiting for a snapshot), LIVE (snapshot applied), RESYNC (gap or checksum mismatch;
updates are buffered (REST snapshots) or dropped (in-stream snapshots) until a new snapshot).
"""

from __future__ import annotations

from typing import Any, Final

from ingest.protocols.base import DecodeError
from pipelines.events import BookDelta, BookSnapshot, Event, Status

from .booksync import APPLY, GAP, SymbolSync, check
from .checksum import compile_checksum
from .compile import compile_field
from .context import Context, compile_int, compile_symbol, compile_time
from .levels import BookView
from .numbers import scale
from .paths import MISSING, Getter, compile_path
from .schema import BookMessage, LevelList

__all__ = ["BookHandler"]

_SIDES: Final = {"bid": "bid", "ask": "ask", "buy": "bid", "sell": "ask"}
_ACTIONS: Final = frozenset({"new", "change", "delete"})

# (side, raw price or MISSING, raw size or MISSING, level id, action or "", level, ts_exchange)
RawLevel = tuple[str, Any, Any, Any, str, int, int]


class _Levels:
    """One compiled ``levels`` list."""

    __slots__ = (
        "action",
        "get",
        "id",
        "level",
        "plain",
        "price",
        "side",
        "side_field",
        "single",
        "size",
        "snapshot",
        "ts",
    )

    def __init__(self, spec: LevelList) -> None:
        self.get = compile_path(spec.path)
        self.side = spec.side or ""
        self.side_field = compile_field(spec.side_field, "side") if spec.side_field else None
        self.price = compile_path(spec.price)
        self.size = compile_path(spec.size)
        self.id = compile_path(spec.id) if spec.id else None
        self.action = compile_field(spec.action, "action") if spec.action else None
        self.level = compile_int(spec.level, "level") if spec.level else None
        self.ts = compile_time(spec.ts_exchange) if spec.ts_exchange else None
        self.snapshot = spec.snapshot
        self.single = spec.single
        self.plain = (
            spec.price == "[0]"
            and spec.size == "[1]"
            and not (spec.single or spec.side_field or spec.id or spec.action or spec.level)
            and spec.ts_exchange is None
        )

    def read(self, entries: Any, out: list[RawLevel], ts_default: int) -> None:
        if self.single:
            entries = [entries]
        elif type(entries) is not list:
            kind = type(entries).__name__
            raise DecodeError("bad_levels", f"expected a list of levels, got {kind}")
        side_const: str = self.side
        side_field = self.side_field
        if self.plain:
            # The common shape: [price, size, ...] arrays with the side given per list.
            for entry in entries:
                if type(entry) is not list or len(entry) < 2:
                    raise DecodeError("bad_levels", f"level {entry!r} is not [price, size, ...]")
                out.append((side_const, entry[0], entry[1], None, "", 0, ts_default))
            return
        get_price, get_size, get_id = self.price, self.size, self.id
        get_action, get_level, get_ts = self.action, self.level, self.ts
        for entry in entries:
            side: str = side_const
            if side_field is not None:
                side = _SIDES.get(side_field(entry), "")
                if not side:
                    raise DecodeError("bad_side", repr(side_field(entry)))
            action = ""
            if get_action is not None:
                action = get_action(entry)
                if action not in _ACTIONS:
                    raise DecodeError("bad_action", repr(action))
            out.append(
                (
                    side,
                    get_price(entry),
                    get_size(entry),
                    get_id(entry) if get_id is not None else None,
                    action,
                    get_level(entry) if get_level is not None else 0,
                    get_ts(entry) if get_ts is not None else ts_default,
                )
            )


class BookHandler:
    def __init__(self, ctx: Context, spec: BookMessage) -> None:
        self._ctx = ctx
        self.spec = spec
        self._root = compile_path(spec.root)
        self._bodies: Getter | None = compile_path(spec.bodies) if spec.bodies else None
        self._symbol = compile_symbol(spec.symbol)
        self._ts = compile_time(spec.ts_exchange)
        self._vseq = compile_int(spec.venue_seq, "venue_seq")
        self._levels = [_Levels(levels) for levels in spec.levels]
        self._has_snapshot_lists = any(levels.snapshot for levels in spec.levels)
        sync = spec.sync
        self._rule = sync.rule
        self._first = compile_int(sync.first_id, "first_id", True) if sync.first_id else None
        self._last = compile_int(sync.last_id, "last_id", True) if sync.last_id else None
        self._prev = compile_int(sync.prev_id, "prev_id", True) if sync.prev_id else None
        self._max_buffer = sync.max_buffer
        self._source = spec.snapshot.source
        self._snapshot_id = (
            compile_int(spec.snapshot.id, "snapshot id") if spec.snapshot.id else None
        )
        self._checksum_get = compile_path(spec.checksum.path) if spec.checksum else None
        self._checksum = compile_checksum(spec.checksum) if spec.checksum else None
        self._depth = spec.depth
        self._books: dict[str, tuple[BookView, SymbolSync]] = {}
        self.needs_snapshot: set[str] = set()

    # -- state ------------------------------------------------------------------------------
    def _state(self, symbol: str) -> tuple[BookView, SymbolSync]:
        found = self._books.get(symbol)
        if found is None:
            # Without a snapshot source the book is live from its first update (CSV, or a venue
            # whose updates are absolute and complete).
            initial = "LIVE" if self._source == "none" else "SYNCING"
            found = (BookView(), SymbolSync(initial, self._max_buffer))
            self._books[symbol] = found
        return found

    def book(self, symbol: str) -> BookView | None:
        """The decoder's view of ``symbol``'s book (tests and diagnostics)."""
        found = self._books.get(symbol)
        return found[0] if found else None

    def sync_state(self, symbol: str) -> str:
        found = self._books.get(symbol)
        return found[1].state if found else ""

    def _status(self, symbol: str, state: str, reason: str, ts_recv: int) -> Status:
        ctx = self._ctx
        return Status(
            stream=ctx.stream,
            symbol=symbol,
            seq=ctx.sequencer.next(),
            ts_recv=ts_recv,
            state=state,
            reason=reason,
        )

    # -- messages -----------------------------------------------------------------------------
    def __call__(self, frame: Any, ts_recv: int) -> list[Event]:
        body = self._root(frame)
        symbol = self._symbol(body)
        bodies = self._body_list(body)
        if self._has_snapshot_lists and self._is_snapshot(bodies):
            return self._apply_stream_snapshot(symbol, body, bodies, ts_recv)
        return self._update(symbol, body, bodies, ts_recv, [])

    def _body_list(self, body: Any) -> list[Any]:
        if self._bodies is None:
            return [body]
        found = self._bodies(body)
        if found is MISSING:
            raise DecodeError("missing_field", "bodies")
        return found if type(found) is list else [found]

    def _is_snapshot(self, bodies: list[Any]) -> bool:
        return any(
            levels.snapshot and levels.get(part) is not MISSING
            for part in bodies
            for levels in self._levels
        )

    def _read_levels(self, bodies: list[Any], snapshot: bool, ts: int) -> list[RawLevel]:
        raw: list[RawLevel] = []
        for part in bodies:
            for levels in self._levels:
                if levels.snapshot is not snapshot:
                    continue
                entries = levels.get(part)
                if entries is not MISSING:
                    levels.read(entries, raw, ts)
        return raw

    def _update(
        self, symbol: str, body: Any, bodies: list[Any], ts_recv: int, out: list[Event]
    ) -> list[Event]:
        ctx = self._ctx
        book, sync = self._state(symbol)
        if sync.state != "LIVE":
            if self._source == "rest":
                if len(sync.buffer) == sync.buffer.maxlen:
                    ctx.stats.buffer_overflow += 1
                if sync.buffer.maxlen:
                    sync.buffer.append((body, ts_recv))
                    ctx.stats.buffered += 1
                self.needs_snapshot.add(symbol)
            else:
                ctx.stats.dropped_unsynced += 1
            if sync.state == "SYNCING" and not sync.announced:
                # Announce once that this book waits for its first snapshot.
                sync.announced = True
                out.append(self._status(symbol, "SYNCING", "waiting for snapshot", ts_recv))
            return out
        if self._last is not None:
            upto = self._last(body)
            first = self._first(body) if self._first is not None else upto
            prev = self._prev(body) if self._prev is not None else first - 1
            verdict = check(self._rule, sync.last, sync.fresh, first, upto, prev)
            if verdict != APPLY:
                if verdict == GAP:
                    ctx.stats.gaps += 1
                    reason = f"gap: expected {sync.last + 1 if sync.last is not None else '?'}"
                    reason += f", got {first}..{upto}"
                    self._lose_sync(symbol, sync, reason, ts_recv, out)
                    if self._source == "rest" and sync.buffer.maxlen:
                        # A newer snapshot may cover this update: keep it for the replay.
                        sync.buffer.append((body, ts_recv))
                else:
                    ctx.stats.stale += 1
                return out
            sync.last = upto
            sync.fresh = False
        ts_exchange = self._ts(body)
        raw = self._read_levels(bodies, False, ts_exchange)
        self._emit_deltas(symbol, book, raw, self._vseq(body), ts_recv, out)
        self._verify(symbol, book, sync, bodies, ts_recv, out)
        return out

    def _lose_sync(
        self, symbol: str, sync: SymbolSync, reason: str, ts_recv: int, out: list[Event]
    ) -> None:
        sync.state = "RESYNC"
        sync.last = None
        sync.buffer.clear()
        if self._source == "rest":
            self.needs_snapshot.add(symbol)
        out.append(self._status(symbol, "RESYNC", reason, ts_recv))

    def _scales(self, symbol: str, raw: list[RawLevel]) -> tuple[int, int]:
        scales = self._ctx.scales
        pd, sd = scales.get(symbol)
        if pd is None or sd is None:
            return scales.learn(
                symbol,
                [r[1] for r in raw if r[1] is not MISSING],
                [r[2] for r in raw if r[2] is not MISSING],
            )
        return pd, sd

    def _emit_deltas(
        self,
        symbol: str,
        book: BookView,
        raw: list[RawLevel],
        venue_seq: int,
        ts_recv: int,
        out: list[Event],
    ) -> None:
        if not raw:
            return
        ctx = self._ctx
        pd, sd = self._scales(symbol, raw)
        price_scaler, size_scaler = ctx.scaler(pd), ctx.scaler(sd)
        # Memoized scaling inline: a dict hit per value, the parser only on a miss.
        price_of, size_of = price_scaler.values.get, size_scaler.values.get
        applied: list[tuple[str, int, int, str, int, int]] = []
        ids = book.ids
        for side, raw_price, raw_size, level_id, action, level, ts in raw:
            if raw_size is MISSING or action == "delete":
                size = 0
            else:
                cached = size_of(raw_size)
                size = size_scaler(raw_size) if cached is None else cached
            if raw_price is MISSING:
                known = ids.get(level_id) if level_id is not None else None
                if known is None:
                    raise DecodeError("unknown_level", f"level id {level_id!r} without a price")
                side, price = known
            else:
                cached = price_of(raw_price)
                price = price_scaler(raw_price) if cached is None else cached
                if level_id is not None:
                    ids[level_id] = (side, price)
            if level_id is not None and size == 0:
                ids.pop(level_id, None)
            derived = (book.bids if side == "bid" else book.asks).set(price, size)
            applied.append((side, price, size, action or derived, level, ts))
        if self._depth:
            for side_name, side_view in (("bid", book.bids), ("ask", book.asks)):
                for price in side_view.truncate(self._depth):
                    applied.append((side_name, price, 0, "delete", 0, applied[-1][5]))
        stream, sequencer = ctx.stream, ctx.sequencer
        last = len(applied) - 1
        seq = sequencer.seq
        for index, (side, price, size, action, level, ts) in enumerate(applied):
            seq += 1
            out.append(
                BookDelta(
                    stream=stream,
                    symbol=symbol,
                    seq=seq,
                    venue_seq=venue_seq,
                    ts_exchange=ts,
                    ts_recv=ts_recv,
                    side=side,  # type: ignore[arg-type]
                    price=price,
                    size=size,
                    action=action,  # type: ignore[arg-type]
                    level=level,
                    batch_end=index == last,
                    price_decimals=pd,
                    size_decimals=sd,
                )
            )
        sequencer.seq = seq

    def _verify(
        self,
        symbol: str,
        book: BookView,
        sync: SymbolSync,
        bodies: list[Any],
        ts_recv: int,
        out: list[Event],
    ) -> None:
        if self._checksum is None or self._checksum_get is None or not self._ctx.verify_checksum:
            return
        for part in bodies:
            expected = self._checksum_get(part)
            if expected is not MISSING:
                break
        else:
            return
        try:
            expected_value = int(expected)
        except (TypeError, ValueError):
            raise DecodeError("bad_checksum", repr(expected)) from None
        pd, sd = self._ctx.scales.get(symbol)
        stats = self._ctx.stats
        stats.checksums += 1
        if self._checksum(book, pd or 0, sd or 0) != expected_value:
            stats.checksum_mismatches += 1
            self._lose_sync(symbol, sync, f"checksum mismatch: feed {expected_value}", ts_recv, out)

    # -- snapshots ------------------------------------------------------------------------------
    def _apply_stream_snapshot(
        self, symbol: str, body: Any, bodies: list[Any], ts_recv: int
    ) -> list[Event]:
        raw = self._read_levels(bodies, True, self._ts(body))
        snapshot_id = self._snapshot_id(body) if self._snapshot_id is not None else None
        out: list[Event] = []
        book, sync = self._install(symbol, raw, snapshot_id, ts_recv, out)
        self._verify(symbol, book, sync, bodies, ts_recv, out)
        return out

    def apply_snapshot(self, symbol: str, body: Any, ts_recv: int) -> list[Event]:
        """Install a REST snapshot, then replay the updates buffered while waiting for it."""
        spec = self.spec.snapshot
        raw: list[RawLevel] = []
        for path, side in ((spec.bids, "bid"), (spec.asks, "ask")):
            entries = compile_path(path)(body)
            if entries is MISSING or type(entries) is not list:
                raise DecodeError("bad_snapshot", f"no {side} list at {path!r}")
            get_price, get_size = compile_path(spec.price), compile_path(spec.size)
            for entry in entries:
                raw.append((side, get_price(entry), get_size(entry), None, "", 0, 0))
        snapshot_id = self._snapshot_id(body) if self._snapshot_id is not None else None
        out: list[Event] = []
        _book, sync = self._install(symbol, raw, snapshot_id, ts_recv, out)
        pending = list(sync.buffer)
        sync.buffer.clear()
        for buffered, buffered_ts in pending:
            self._update(symbol, buffered, self._body_list(buffered), buffered_ts, out)
        return out

    def _install(
        self,
        symbol: str,
        raw: list[RawLevel],
        snapshot_id: int | None,
        ts_recv: int,
        out: list[Event],
    ) -> tuple[BookView, SymbolSync]:
        ctx = self._ctx
        book, sync = self._state(symbol)
        pd, sd = self._scales(symbol, raw)
        scaled, int_text = ctx.scales.scaled, ctx.scales.int_text
        book.clear()
        for side, raw_price, raw_size, *_ in raw:
            if raw_price is MISSING or raw_size is MISSING:
                raise DecodeError("bad_snapshot", "level without price or size")
            book.side(side).set(
                scale(raw_price, pd, scaled, int_text), scale(raw_size, sd, scaled, int_text)
            )
        if self._depth:
            book.bids.truncate(self._depth)
            book.asks.truncate(self._depth)
        ctx.stats.snapshots += 1
        sync.last = snapshot_id
        sync.fresh = snapshot_id is not None
        was = sync.state
        sync.state = "LIVE"
        self.needs_snapshot.discard(symbol)
        out.append(
            BookSnapshot(
                stream=ctx.stream,
                symbol=symbol,
                seq=ctx.sequencer.next(),
                venue_seq=snapshot_id or 0,
                ts_recv=ts_recv,
                bids=book.bids.top(len(book.bids)),
                asks=book.asks.top(len(book.asks)),
                price_decimals=pd,
                size_decimals=sd,
                state="LIVE",
            )
        )
        if was != "LIVE":
            out.append(self._status(symbol, "LIVE", "snapshot applied", ts_recv))
        return book, sync
