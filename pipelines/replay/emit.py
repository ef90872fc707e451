"""The outputs of ``python -m pipelines replay``: each emitter takes the decoder's batches.

- :class:`EventsEmitter` (``--emit events``): every event as one JSON line
  (:func:`pipelines.events.to_json_dict`: ``kind``, all fields, prices/sizes as decimal strings);
- :class:`BooksEmitter` (``--emit books``): the changed books after each consistent point
  (market-by-order ``Order`` events: the aggregated L2 book after each one);
- :class:`KindCounter` (``--emit stats``): counts only; the command prints one line at the end.

Output goes through :class:`Output`, which writes in large chunks: stdout is the benchmark too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, BinaryIO, Final

import msgspec

from pipelines.core.book import Book
from pipelines.core.health import BookHealth
from pipelines.core.l3 import L3Book
from pipelines.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Order,
    Statistic,
    Status,
    format_scaled,
)

__all__ = [
    "BookView",
    "BooksEmitter",
    "EventsEmitter",
    "KindCounter",
    "Output",
    "compile_edge_form",
]

_FLUSH_AT: Final = 1 << 20


class Output:
    """Buffered binary output; :meth:`flush` at the end (and it flushes every 1 MiB)."""

    __slots__ = ("_buffer", "_stream")

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if len(buffer) >= _FLUSH_AT:
            self._stream.write(buffer)
            buffer.clear()

    def flush(self) -> None:
        if self._buffer:
            self._stream.write(self._buffer)
            self._buffer.clear()
        self._stream.flush()


_PRICES: Final = frozenset({"price", "bid_price", "ask_price", "tick_size"})
_SIZES: Final = frozenset({"size", "bid_size", "ask_size"})


def compile_edge_form(cls: type[msgspec.Struct]) -> Callable[[Any], dict[str, Any]]:
    """A converter equal to :func:`~pipelines.events.to_json_dict` for events of ``cls``, with
    the per-field decisions taken once (generated from the struct's fields, never from data):
    ``to_json_dict`` looks every field up by name per event, which dominated ``--emit events``."""
    fields = cls.__struct_fields__
    tag = cls.__struct_config__.tag
    lines = [f"    return {{'kind': {tag!r},"]
    for name in fields:
        if name in _PRICES:
            value = f"fs(e.{name}, pd)"
        elif name in _SIZES:
            value = f"fs(e.{name}, sd)"
        elif name in ("bids", "asks"):
            value = f"[[fs(p, pd), fs(s, sd)] for p, s in e.{name}]"
        elif name == "value" and cls is Statistic:
            value = "fs(e.value, e.decimals)"
        else:
            value = f"e.{name}"
        lines.append(f"        {name!r}: {value},")
    pd = "e.price_decimals" if "price_decimals" in fields else "0"
    sd = "e.size_decimals" if "size_decimals" in fields else "0"
    source = f"def convert(e):\n    pd = {pd}\n    sd = {sd}\n" + "\n".join(lines) + "}\n"
    namespace: dict[str, Any] = {"fs": format_scaled}
    exec(compile(source, f"<edge form of {cls.__name__}>", "exec"), namespace)
    convert: Callable[[Any], dict[str, Any]] = namespace["convert"]
    return convert


class EventsEmitter:
    """``--emit events``: one JSON object per event and line (the form of
    :func:`~pipelines.events.to_json_dict`), in ingest order."""

    __slots__ = ("_convert", "_encode_lines", "_write")

    def __init__(self, output: Output) -> None:
        self._write = output.write
        self._encode_lines = msgspec.json.Encoder().encode_lines
        self._convert: dict[type, Callable[[Any], dict[str, Any]]] = {}

    def __call__(self, batch: list[Event]) -> None:
        convert = self._convert
        try:
            lines = [convert[type(event)](event) for event in batch]
        except KeyError:  # the first event of a kind: compile its converter, then again
            for event in batch:
                if type(event) not in convert:
                    convert[type(event)] = compile_edge_form(type(event))
            lines = [convert[type(event)](event) for event in batch]
        self._write(self._encode_lines(lines))


class KindCounter:
    """``--emit stats``: events by kind (counted per batch type by type, at C speed)."""

    __slots__ = ("by_type",)

    def __init__(self) -> None:
        self.by_type: Counter[type[msgspec.Struct]] = Counter()

    def __call__(self, batch: list[Event]) -> None:
        self.by_type.update(map(type, batch))

    def by_kind(self) -> dict[str, int]:
        counts = {str(cls.__struct_config__.tag): n for cls, n in self.by_type.items()}
        return dict(sorted(counts.items()))


class BookView:
    """One (stream, symbol) book as replay shows it, its state from the pipeline's own
    :class:`~pipelines.core.health.BookHealth`: ``SYNCING`` until a snapshot or the first
    consistent message, ``LIVE``, ``RESYNC`` after a decoder's gap Status for the symbol (updates
    are not applied across a gap, as in the pipeline, until the next snapshot); ``|CROSSED`` is
    appended while the best bid is above the best ask.

    ``l3``: the orders by id of a market-by-order feed, aggregated into ``book`` (made at the
    first ``Order`` event; None for level feeds)."""

    __slots__ = ("book", "dropped", "health", "l3", "seq")

    def __init__(self, stream: str, symbol: str) -> None:
        self.book = Book(stream, symbol)
        self.health = BookHealth(stream, symbol)
        self.seq = 0
        self.dropped = 0
        self.l3: L3Book | None = None

    def orders(self) -> L3Book:
        """The order book aggregating into ``book``; made at the first ``Order`` event."""
        l3 = self.l3
        if l3 is None:
            # L3Book(book=...) clears the book it is given: keep what a snapshot put there.
            bids, asks = list(self.book.bids.levels.items()), list(self.book.asks.levels.items())
            l3 = self.l3 = L3Book(book=self.book)
            self.book.load(bids, asks)
        return l3

    @property
    def state(self) -> str:
        return self.health.label

    def scale_to(self, price_decimals: int, size_decimals: int) -> None:
        """Re-express the levels at a new scale: a FIX feed may widen it mid-stream."""
        book = self.book
        price_shift = price_decimals - book.price_decimals
        size_shift = size_decimals - book.size_decimals
        for side in (book.bids, book.asks):
            levels = [
                (_rescale(p, price_shift), _rescale(s, size_shift)) for p, s in side.levels.items()
            ]
            side.clear()
            for price, size in levels:
                side.set(price, size)
        book.price_decimals = price_decimals
        book.size_decimals = size_decimals
        if self.l3 is not None:  # resting orders at the new scale too, or cancels would miss
            for order in self.l3.orders.values():
                order.price = _rescale(order.price, price_shift)
                order.size = _rescale(order.size, size_shift)


def _rescale(value: int, shift: int) -> int:
    factor: int = 10 ** abs(shift)
    return value * factor if shift >= 0 else value // factor


class BooksEmitter:
    """``--emit books``: after each venue message that changed a book (at ``batch_end``, and at
    each BookSnapshot), one line per changed book::

        {"kind":"book","stream","symbol","seq","state","bids":[[price,size],...],"asks":[...]}

    best level first, ``depth`` levels, prices and sizes as decimal strings.

    ``Order`` events (market-by-order feeds) go into the symbol's
    :class:`~pipelines.core.l3.L3Book`, which aggregates them per price (sizes summed over live
    orders); each one is a consistent point, so the L2 book is printed after every order. A
    ``BookSnapshot`` of such a symbol (``--snapshots``) replaces the levels and forgets the
    orders seen before it: later orders add to and take from the snapshot's levels, and an
    update for an order id the replay never saw added is counted (``L3Book.rejected``) and
    changes nothing.
    """

    def __init__(self, output: Output, depth: int = 10) -> None:
        self._write = output.write
        self._encode = msgspec.json.Encoder().encode
        self.depth = depth
        self.books: dict[tuple[str, str], BookView] = {}
        self._changed: dict[tuple[str, str], BookView] = {}
        self.lines = 0

    def view(self, stream: str, symbol: str) -> BookView:
        key = (stream, symbol)
        view = self.books.get(key)
        if view is None:
            view = self.books[key] = BookView(stream, symbol)
        return view

    def __call__(self, batch: list[Event]) -> None:
        books = self.books
        changed = self._changed
        for event in batch:
            kind = type(event)
            if kind is BookDelta:
                key = (event.stream, event.symbol)
                view = books.get(key) or self.view(event.stream, event.symbol)
                if view.health.needs_snapshot:
                    view.dropped += 1  # never across a gap: wait for the next snapshot
                    continue
                book = view.book
                if (
                    event.price_decimals != book.price_decimals  # type: ignore[union-attr]
                    or event.size_decimals != book.size_decimals  # type: ignore[union-attr]
                ):
                    view.scale_to(event.price_decimals, event.size_decimals)  # type: ignore[union-attr]
                book.apply(event)  # type: ignore[arg-type]
                view.seq = event.seq
                changed[key] = view
                if event.batch_end:  # type: ignore[union-attr]
                    self._consistent()
            elif kind is Order:
                self._order(event)  # type: ignore[arg-type]
            elif kind is BookSnapshot:
                self._snapshot(event)  # type: ignore[arg-type]
            elif kind is Status:
                # A Status for a symbol without a book (a CME channel's "_feed") changes none.
                about = books.get((event.stream, event.symbol))
                if about is None and event.state == "SYNCING":  # type: ignore[union-attr]
                    about = self.view(event.stream, event.symbol)
                if about is not None:
                    about.health.on_status(event)  # type: ignore[arg-type]
                    if event.state == "RESET":  # type: ignore[union-attr]
                        about.book.clear()
            elif kind is Instrument:
                view = self.view(event.stream, event.symbol)
                view.scale_to(event.price_decimals, event.size_decimals)  # type: ignore[union-attr]

    def _order(self, order: Order) -> None:
        key = (order.stream, order.symbol)
        view = self.books.get(key) or self.view(order.stream, order.symbol)
        if view.health.needs_snapshot:
            view.dropped += 1  # never across a gap: wait for the next snapshot
            return
        book = view.book
        if order.price_decimals != book.price_decimals or order.size_decimals != book.size_decimals:
            view.scale_to(order.price_decimals, order.size_decimals)
        view.orders().apply(order)
        view.seq = order.seq
        self._changed[key] = view
        self._consistent()

    def _snapshot(self, snapshot: BookSnapshot) -> None:
        view = self.view(snapshot.stream, snapshot.symbol)
        book = view.book
        if view.l3 is not None:
            view.l3.orders.clear()  # the snapshot supersedes every order seen before it
        book.clear()
        book.price_decimals = snapshot.price_decimals
        book.size_decimals = snapshot.size_decimals
        for price, size in snapshot.bids:
            book.bids.set(price, size)
        for price, size in snapshot.asks:
            book.asks.set(price, size)
        view.seq = snapshot.seq
        view.health.on_snapshot(snapshot.seq, snapshot.ts_recv)
        self._changed[(snapshot.stream, snapshot.symbol)] = view
        self._consistent()

    def _consistent(self) -> None:
        """A consistent point: print every book changed since the last one."""
        depth, encode = self.depth, self._encode
        for view in self._changed.values():
            book = view.book
            health = view.health
            health.on_update(view.seq)
            bid_keys, ask_keys = book.bids.keys, book.asks.keys
            health.set_crossed(bool(bid_keys and ask_keys and bid_keys[-1] > -ask_keys[-1]), "")
            pd, sd = book.price_decimals, book.size_decimals
            bids, asks = book.top(depth)
            line: dict[str, Any] = {
                "kind": "book",
                "stream": book.stream,
                "symbol": book.symbol,
                "seq": view.seq,
                "state": health.label,
                "bids": [[format_scaled(p, pd), format_scaled(s, sd)] for p, s in bids],
                "asks": [[format_scaled(p, pd), format_scaled(s, sd)] for p, s in asks],
            }
            self._write(encode(line) + b"\n")
            self.lines += 1
        self._changed.clear()
