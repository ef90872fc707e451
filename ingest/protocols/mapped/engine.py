"""The mapping engine: route a decoded frame to its message handler and count what is ignored.

Shared by the ``json`` and ``csv`` plugins; they differ only in how bytes become a frame (a
decoded JSON value, or a CSV row as a dict or list).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event

from .book import BookHandler
from .compile import Router, map_key
from .context import Context, DecoderStats
from .messages import OrderHandler, QuoteHandler, TradeHandler
from .paths import MISSING, compile_path
from .schema import (
    BookMessage,
    IgnoreMessage,
    Mapping,
    MappingError,
    OrderMessage,
    QuoteMessage,
    TradeMessage,
)
from .subscribe import SubscribeTemplates, unknown_placeholders

__all__ = ["MappedEngine"]

Handler = Callable[[Any, int], list[Event]]


def _symbol_from_url(rule: str, url: str) -> str:
    """``query:<name>``, ``path:<index>`` (URL path segment) or ``regex:<pattern>`` (group 1)."""
    kind, _, argument = rule.partition(":")
    parts = urlsplit(url)
    found: str | None = None
    if kind == "query":
        values = parse_qs(parts.query).get(argument)
        found = values[0] if values else None
    elif kind == "path":
        segments = [s for s in parts.path.split("/") if s]
        try:
            found = segments[int(argument)]
        except (IndexError, ValueError):
            found = None
    elif kind == "regex":
        match = re.search(argument, url)
        found = match.group(1) if match else None
    if not found:
        raise DecodeError("snapshot_symbol", f"no symbol in {url!r} by {rule!r}")
    return found


class MappedEngine:
    def __init__(
        self,
        stream: str,
        mapping: Mapping,
        sequencer: Sequencer | None = None,
        verify_checksum: bool = True,
        int_text: bool = False,
    ) -> None:
        self.mapping = mapping
        # int_text: the frames are text cells (CSV), so ``scaled`` reads integer text as JSON
        # reads integers.
        self.ctx = Context(
            stream, mapping, sequencer or Sequencer(stream), verify_checksum, int_text
        )
        self._route = Router(mapping.routing.rules, mapping.routing.default)
        self._each = compile_path(mapping.routing.each) if mapping.routing.each else None
        self.books: dict[str, BookHandler] = {}
        self._handlers: dict[str, Handler | None] = {"ignore": None}
        for name, spec in mapping.messages.items():
            handler: Handler | None
            if isinstance(spec, TradeMessage):
                handler = TradeHandler(self.ctx, spec)
            elif isinstance(spec, QuoteMessage):
                handler = QuoteHandler(self.ctx, spec)
            elif isinstance(spec, OrderMessage):
                handler = OrderHandler(self.ctx, spec)
            elif isinstance(spec, BookMessage):
                handler = self.books[name] = BookHandler(self.ctx, spec)
            else:
                assert isinstance(spec, IgnoreMessage)
                handler = None
            self._handlers[name] = handler
        subscribe = mapping.subscribe
        for index, template in enumerate([subscribe.url, *subscribe.streams, *subscribe.messages]):
            bad = unknown_placeholders(template)
            if bad:
                raise MappingError(
                    mapping.venue.name,
                    "subscribe",
                    f"unknown placeholder {{{sorted(bad)[0]}}} in template {index}",
                )
        self.subscribe = SubscribeTemplates(subscribe)

    @property
    def stats(self) -> DecoderStats:
        return self.ctx.stats

    def process(self, frame: Any, ts_recv: int) -> list[Event]:
        """Events of one decoded frame; DecodeError for frames the mapping cannot place.
        Rejected rows of messages with ``rows`` go to ``ctx.row_errors`` (this frame's only)."""
        if self.ctx.row_errors:
            self.ctx.row_errors.clear()
        if self._each is not None:
            items = self._each(frame)
            if type(items) is list:
                out: list[Event] = []
                for item in items:
                    out.extend(self._one(item, ts_recv))
                return out
        return self._one(frame, ts_recv)

    def _one(self, frame: Any, ts_recv: int) -> list[Event]:
        """One message's events. A rejected message leaves no trace in the numbering or the
        scales: its seq numbers are handed out again and decimals it taught are forgotten."""
        ctx = self.ctx
        seq = ctx.sequencer.seq
        try:
            events = self._handle(frame, ts_recv)
        except BaseException:
            ctx.sequencer.seq = seq
            ctx.scales.settle(False)
            raise
        if ctx.scales.learned:
            ctx.scales.settle(True)
        return events

    def _handle(self, frame: Any, ts_recv: int) -> list[Event]:
        stats = self.ctx.stats
        stats.messages += 1
        name = self._route(frame)
        try:
            handler = self._handlers[name]
        except KeyError:
            # Only "error" is not a handler name (references are checked at load).
            raise DecodeError("unrouted", _describe(frame)) from None
        if handler is None:
            stats.ignored += 1
            return []
        try:
            events = handler(frame, ts_recv)
        except (TypeError, AttributeError, KeyError, IndexError) as exc:
            # A frame of an unexpected shape (a list where the mapping expects an object...).
            raise DecodeError("bad_shape", f"{name}: {exc}") from None
        stats.events += len(events)
        return events

    # -- REST snapshots ---------------------------------------------------------------------
    def snapshot_handler(self, url: str) -> BookHandler:
        """The book message whose REST snapshot URL template matches ``url``."""
        for handler in self.books.values():
            spec = handler.spec.snapshot
            if spec.source == "rest" and url.startswith(spec.url.split("{", 1)[0]):
                return handler
        raise DecodeError("snapshot_url", f"no book message takes snapshots from {url!r}")

    def apply_snapshot(self, url: str, body: Any, ts_recv: int) -> list[Event]:
        handler = self.snapshot_handler(url)
        symbol = _symbol_from_url(handler.spec.snapshot.symbol_from_url, url)
        ctx = self.ctx
        seq = ctx.sequencer.seq
        try:
            events = handler.apply_snapshot(symbol, body, ts_recv)
        except BaseException as exc:
            ctx.sequencer.seq = seq  # as in _one: a rejected snapshot leaves no trace
            ctx.scales.settle(False)
            if isinstance(exc, TypeError | AttributeError | KeyError | IndexError):
                raise DecodeError("bad_snapshot", str(exc)) from None
            raise
        ctx.scales.settle(True)
        ctx.stats.events += len(events)
        return events

    def snapshot_urls(self, symbols: Sequence[str]) -> list[str]:
        """REST snapshot URLs for ``symbols`` (the source fetches them, e.g. after a gap)."""
        urls: list[str] = []
        for handler in self.books.values():
            spec = handler.spec.snapshot
            if spec.source == "rest":
                urls.extend(spec.url.replace("{symbol}", s) for s in symbols)
        return urls

    def needs_snapshot(self) -> set[str]:
        return set().union(*(h.needs_snapshot for h in self.books.values()))


def _describe(frame: Any) -> str:
    if type(frame) is dict:
        return "object with keys " + ",".join(sorted(map_key(k) for k in frame)[:8])
    if type(frame) is list:
        return f"array of {len(frame)}"
    return type(frame).__name__ if frame is not MISSING else "nothing"
