"""Parsed FIX messages → normalized events (W, X, d and f; other types give no events).

Scale: prices are integers at a per-symbol number of decimals that only grows: it starts at the
instrument's (from a SecurityDefinition seen earlier: MinPriceIncrement and reference prices) and
widens to the most decimals any price string of a message carries, so a book never receives a
value it cannot represent exactly. ``price_decimals >= 0`` fixes the scale instead.

Symbols: the first non-empty tag of ``symbol_tags``; without them, the convention of the message's
exchange (SecurityExchange 207, :mod:`ingest.protocols.fix.venues`: SecurityDesc 107 first on CME
Globex), else Symbol 55, then SecurityID 48. When a SecurityDefinition mapped a SecurityID to a
symbol, entries that carry that SecurityID get it (incremental feeds often name instruments by
SecurityID only).

Times (docs/decisions/0126, forms in :mod:`ingest.protocols.fix.timestamps`): ``ts_exchange`` is
TransactTime (60), else MDEntryTime (273) on MDEntryDate (272) or SendingTime's date, else
SendingTime (52). SendingTime is required: unparsable, the message is a DecodeError ``bad_time``.
The others are optional: unparsable, they are skipped (an entry then takes the message's time)
and :attr:`FixNormalizer.warnings` says so, ``bad_time:<tag>``; the events go out.

This module is the reference implementation. A compiled twin (``_cnormalize.pyx``, docs/decisions
0112 and 0114) runs W, X and d messages instead when it is built and ``TICKERPLANT_PURE_PYTHON``
is not set, on this normalizer's own state; f messages always run here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ingest.protocols.base import DecodeError, Sequencer
from ingest.protocols.fix.decimals import decimals_of, int_field, int_or, scale
from ingest.protocols.fix.message import FixMessage, GroupEntry
from ingest.protocols.fix.tables import (
    BOOK_ACTIONS,
    INSTRUMENT_TAGS,
    SIZE_STATISTICS,
    STATISTIC_NAMES,
    TRADING_STATES,
)
from ingest.protocols.fix.timestamps import FixTimeError, parse_entry_time, parse_fix_time
from ingest.protocols.fix.venues import DEFAULT_SYMBOL_TAGS, SYMBOL_TAGS_BY_EXCHANGE
from pipelines import accel
from pipelines.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Statistic,
    Status,
    Trade,
)

if TYPE_CHECKING:
    from ingest.protocols.fix._cnormalize import Normalizer as _CompiledNormalizer

__all__ = ["FixNormalizer", "sending_time", "undo"]

_compiled = accel.load("ingest.protocols.fix._cnormalize")

# SecurityDefinition tags holding prices: their strings set the instrument's decimals.
_DEFINITION_PRICE_TAGS = ("969", "1150", "1148", "1149", "1143", "731")
_SIDES = {"1": "buy", "2": "sell"}


def sending_time(text: str) -> int:
    """SendingTime (52), the required time: DecodeError ``bad_time`` when it does not parse."""
    try:
        return parse_fix_time(text)
    except ValueError as exc:
        raise DecodeError("bad_time", str(exc)) from None


def undo(journal: list[tuple[dict[str, Any], str, Any]]) -> None:
    """Put back what a rejected message changed (newest first), and forget it."""
    for known, key, before in reversed(journal):
        if before is None:
            known.pop(key, None)
        else:
            known[key] = before
    journal.clear()


class FixNormalizer:
    """Turns :class:`FixMessage` objects of one stream into events, ``seq`` from ``sequencer``.

    ``compiled``: None (default) normalizes W, X and d with the compiled twin when it is loaded;
    False always runs the pure-Python reference; True requires the twin (ValueError when it is
    not built or ``TICKERPLANT_PURE_PYTHON`` is set). Options are fixed once it is made.
    """

    def __init__(
        self,
        stream: str,
        sequencer: Sequencer,
        *,
        symbol_tags: Sequence[str] = (),
        implied_bid_type: str = "E",
        implied_offer_type: str = "F",
        price_decimals: int = -1,
        compiled: bool | None = None,
    ) -> None:
        self.stream = stream
        self.sequencer = sequencer
        # Empty: by the message's exchange (venues.py), else Symbol then SecurityID.
        self.symbol_tags = tuple(symbol_tags)
        self.fixed_decimals = price_decimals
        # MDEntryType → (side, implied) for book entries.
        self.book_types: dict[str, tuple[str, bool]] = {
            "0": ("bid", False),
            "1": ("ask", False),
            implied_bid_type: ("bid", True),
            implied_offer_type: ("ask", True),
        }
        self.price_decimals: dict[str, int] = {}
        self.size_decimals: dict[str, int] = {}
        self.security_ids: dict[str, str] = {}
        #: What the message being normalized changed in the three dicts above (dict, key, the
        #: value before, None if absent): a rejected message is undone (:func:`undo`), so one
        #: bad price cannot widen a symbol's scale for good.
        self.journal: list[tuple[dict[str, Any], str, Any]] = []
        #: Warnings ``(reason, detail)`` of the message last normalized: optional fields that did
        #: not parse and were skipped (the events went out without them). Emptied when the next
        #: message starts and when a message is rejected.
        self.warnings: list[tuple[str, str]] = []
        self._handlers: dict[str, Callable[[FixMessage, int], list[Event]]] = {
            "W": self._snapshot,
            "X": self._incremental,
            "d": self._instrument,
            "f": self._status,
        }
        if compiled and _compiled is None:
            raise ValueError(
                "the compiled FIX normalizer is not loaded (not built, or pure Python)"
            )
        self._fast: _CompiledNormalizer | None = (
            _compiled.Normalizer(self) if _compiled is not None and compiled is not False else None
        )

    @property
    def compiled(self) -> bool:
        """Whether :meth:`normalize` runs the compiled twin (for W, X and d)."""
        return self._fast is not None

    def normalize(self, message: FixMessage, ts_recv: int) -> list[Event]:
        """The events of one message (none for types other than W, X, d and f)."""
        if self._fast is not None:
            return self._fast.normalize(message, ts_recv)
        return self.normalize_python(message, ts_recv)

    def normalize_python(self, message: FixMessage, ts_recv: int) -> list[Event]:
        """:meth:`normalize` in pure Python: the reference the compiled twin is tested against."""
        handler = self._handlers.get(message.msg_type)
        if handler is None:
            return []
        journal = self.journal
        if journal:
            journal.clear()
        warnings = self.warnings
        if warnings:
            warnings.clear()
        try:
            return handler(message, ts_recv)
        except BaseException:
            undo(journal)
            warnings.clear()
            raise

    # -- helpers ---------------------------------------------------------------------------
    def _symbol(self, fields: dict[str, Any], default: str = "") -> str:
        security_id = fields.get("48")
        if security_id is not None:
            known = self.security_ids.get(security_id)
            if known is not None:
                return known
        for tag in self._symbol_tags(fields):
            value = fields.get(tag)
            if value and isinstance(value, str):
                return value
        return default

    def _symbol_tags(self, fields: dict[str, Any]) -> tuple[str, ...]:
        if self.symbol_tags:
            return self.symbol_tags
        exchange = fields.get("207")
        if isinstance(exchange, str):
            return SYMBOL_TAGS_BY_EXCHANGE.get(exchange, DEFAULT_SYMBOL_TAGS)
        return DEFAULT_SYMBOL_TAGS

    def _scales(self, symbol: str, entries: list[GroupEntry]) -> tuple[int, int]:
        if self.fixed_decimals >= 0:
            price_dec = self.fixed_decimals
        else:
            known = self.price_decimals.get(symbol)
            price_dec = 0 if known is None else known
            for entry in entries:
                price = entry.get("270")
                if price is not None and "." in price:
                    price_dec = max(price_dec, decimals_of(price))
            if known is None or price_dec != known:
                self.journal.append((self.price_decimals, symbol, known))
            self.price_decimals[symbol] = price_dec
        known = self.size_decimals.get(symbol)
        size_dec = 0 if known is None else known
        for entry in entries:
            size = entry.get("271")
            if size is not None and "." in size:
                size_dec = max(size_dec, decimals_of(size))
        if known is None or size_dec != known:
            self.journal.append((self.size_decimals, symbol, known))
        self.size_decimals[symbol] = size_dec
        return price_dec, size_dec

    def _time(self, fields: dict[str, Any], date_hint: str = "") -> int:
        """The time of a message: its :meth:`_optional_time`, else SendingTime (52), else 0.

        SendingTime is the one required time (every FIX header carries it): unparsable, it is a
        DecodeError ``bad_time``; an unparsable optional time is a warning and is skipped."""
        ns = self._optional_time(fields, date_hint)
        if ns is not None:
            return ns
        text = fields.get("52")
        return sending_time(text) if text else 0

    def _optional_time(self, fields: dict[str, Any], date_hint: str) -> int | None:
        """TransactTime (60), else MDEntryTime (273) on MDEntryDate (272) or ``date_hint``'s date;
        None when neither is there or parses. One that does not parse is skipped with a warning
        ``bad_time:<tag>`` (the tag at fault) in :attr:`warnings`."""
        text = fields.get("60")
        if text:
            try:
                return parse_fix_time(text)
            except ValueError as exc:
                self.warnings.append(("bad_time:60", f"TransactTime: {exc}"))
        text = fields.get("273")
        if text:
            try:
                return parse_entry_time(text, fields.get("272"), date_hint)
            except FixTimeError as exc:
                name = "MDEntryDate" if exc.tag == "272" else "MDEntryTime"
                self.warnings.append((f"bad_time:{exc.tag}", f"{name}: {exc}"))
        return None

    @staticmethod
    def _venue_seq(fields: dict[str, Any], default: int) -> int:
        return int_or(fields.get("83"), default, "83")  # isdecimal(), not isdigit(): "²"

    # -- W ---------------------------------------------------------------------------------
    def _snapshot(self, message: FixMessage, ts_recv: int) -> list[Event]:
        fields = message.fields
        entries: list[GroupEntry] = fields.get("268") or []
        symbol = self._symbol(fields)
        price_dec, size_dec = self._scales(symbol, entries)
        ts = self._time(fields, fields.get("52", ""))
        venue_seq = self._venue_seq(fields, message.msg_seq_num)
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        others: list[GroupEntry] = []
        book_types = self.book_types
        for entry in entries:
            kind = book_types.get(entry.get("269", ""))
            if kind is None:
                others.append(entry)
            elif not kind[1]:  # the snapshot is the outright book; implied levels are not in it
                price = scale(entry.get("270", "0"), price_dec, "270")
                side = bids if kind[0] == "bid" else asks
                side[price] = side.get(price, 0) + scale(entry.get("271", "0"), size_dec, "271")
        events: list[Event] = [
            BookSnapshot(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                bids=sorted(bids.items(), reverse=True),
                asks=sorted(asks.items()),
                price_decimals=price_dec,
                size_decimals=size_dec,
            )
        ]
        for entry in others:
            event = self._other(entry, symbol, venue_seq, ts, ts_recv, price_dec, size_dec)
            if event is not None:
                events.append(event)
        return events

    # -- X ---------------------------------------------------------------------------------
    def _incremental(self, message: FixMessage, ts_recv: int) -> list[Event]:
        fields = message.fields
        entries: list[GroupEntry] = fields.get("268") or []
        default_symbol = self._symbol(fields)
        sending = fields.get("52", "")
        message_ts = self._time(fields, sending)
        message_seq = message.msg_seq_num
        book_types = self.book_types
        stream, sequencer = self.stream, self.sequencer
        symbols = [self._symbol(entry, default_symbol) for entry in entries]
        scales = {
            symbol: self._scales(
                symbol, [e for e, s in zip(entries, symbols, strict=True) if s == symbol]
            )
            for symbol in set(symbols)
        }
        # batch_end goes on the last book entry: the book is consistent only after it.
        last_book = -1
        for index, entry in enumerate(entries):
            if entry.get("269", "") in book_types:
                last_book = index
        events: list[Event] = []
        for index, entry in enumerate(entries):
            symbol = symbols[index]
            price_dec, size_dec = scales[symbol]
            ts = message_ts
            if "273" in entry or "60" in entry:
                # The entry's own time; without one that parses, the message's (60, 273, 52).
                entry_ts = self._optional_time(entry, sending)
                if entry_ts is not None:
                    ts = entry_ts
            venue_seq = self._venue_seq(entry, message_seq)
            kind = book_types.get(entry.get("269", ""))
            if kind is None:
                event = self._other(entry, symbol, venue_seq, ts, ts_recv, price_dec, size_dec)
                if event is not None:
                    events.append(event)
                continue
            action = BOOK_ACTIONS.get(entry.get("279", "0"))
            if action is None:
                raise DecodeError("bad_value", f"MDUpdateAction {entry.get('279')!r}")
            level = entry.get("1023", "")
            events.append(
                BookDelta(
                    stream=stream,
                    symbol=symbol,
                    seq=sequencer.next(),
                    venue_seq=venue_seq,
                    ts_exchange=ts,
                    ts_recv=ts_recv,
                    side=kind[0],  # type: ignore[arg-type]
                    price=scale(entry.get("270", "0"), price_dec, "270"),
                    size=scale(entry.get("271", "0"), size_dec, "271"),
                    action=action,  # type: ignore[arg-type]
                    level=int_field(level, "1023") if level.isdecimal() else 0,
                    implied=kind[1],
                    batch_end=index == last_book,
                    price_decimals=price_dec,
                    size_decimals=size_dec,
                )
            )
        return events

    def _other(
        self,
        entry: GroupEntry,
        symbol: str,
        venue_seq: int,
        ts: int,
        ts_recv: int,
        price_dec: int,
        size_dec: int,
    ) -> Event | None:
        """A trade, statistic or empty-book entry; None for types with no event."""
        entry_type = entry.get("269", "")
        if entry_type == "2":
            return Trade(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                price=scale(entry.get("270", "0"), price_dec, "270"),
                size=scale(entry.get("271", "0"), size_dec, "271"),
                price_decimals=price_dec,
                size_decimals=size_dec,
                side=_SIDES.get(entry.get("2446") or entry.get("5797") or entry.get("54", ""), ""),  # type: ignore[arg-type]
                trade_id=entry.get("1003") or entry.get("278", ""),
            )
        name = STATISTIC_NAMES.get(entry_type)
        if name is not None:
            if entry_type in SIZE_STATISTICS:
                value, decimals = scale(entry.get("271", "0"), size_dec, "271"), size_dec
            else:
                value, decimals = scale(entry.get("270", "0"), price_dec, "270"), price_dec
            return Statistic(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                name=name,
                value=value,
                decimals=decimals,
            )
        if entry_type == "J":  # empty book: a snapshot with no levels replaces the book
            return BookSnapshot(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                bids=[],
                asks=[],
                price_decimals=price_dec,
                size_decimals=size_dec,
                state="EMPTY",
            )
        return None

    # -- d ---------------------------------------------------------------------------------
    def _instrument(self, message: FixMessage, ts_recv: int) -> list[Event]:
        fields = message.fields
        symbol = ""
        symbol_tag = ""
        for tag in self._symbol_tags(fields):
            value = fields.get(tag)
            if value and isinstance(value, str):
                symbol, symbol_tag = value, tag
                break
        if self.fixed_decimals >= 0:
            price_dec = self.fixed_decimals
        else:
            price_dec = max(
                (
                    decimals_of(fields[t])
                    for t in _DEFINITION_PRICE_TAGS
                    if isinstance(fields.get(t), str)
                ),
                default=0,
            )
        tick_text = fields.get("969")
        tick = scale(tick_text, price_dec, "969") if isinstance(tick_text, str) else 1
        min_qty = fields.get("562")
        size_dec = decimals_of(min_qty) if isinstance(min_qty, str) else 0
        venue_ids = {
            key: value
            for key, tag in INSTRUMENT_TAGS.items()
            if tag != symbol_tag and isinstance(value := fields.get(tag), str) and value
        }
        journal = self.journal
        journal.append((self.price_decimals, symbol, self.price_decimals.get(symbol)))
        self.price_decimals[symbol] = max(price_dec, self.price_decimals.get(symbol, 0))
        journal.append((self.size_decimals, symbol, self.size_decimals.get(symbol)))
        self.size_decimals[symbol] = max(size_dec, self.size_decimals.get(symbol, 0))
        security_id = fields.get("48")
        if isinstance(security_id, str) and security_id:
            journal.append((self.security_ids, security_id, self.security_ids.get(security_id)))
            self.security_ids[security_id] = symbol
        return [
            Instrument(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                venue_seq=self._venue_seq(fields, message.msg_seq_num),
                ts_exchange=self._time(fields),
                ts_recv=ts_recv,
                tick_size=tick,
                price_decimals=price_dec,
                size_decimals=size_dec,
                venue_ids=venue_ids,
                description=fields.get("107", "") if symbol_tag != "107" else "",
            )
        ]

    # -- f ---------------------------------------------------------------------------------
    def _status(self, message: FixMessage, ts_recv: int) -> list[Event]:
        fields = message.fields
        code = fields.get("326", "")
        state = TRADING_STATES.get(code, f"STATUS_{code}" if code else "UNKNOWN")
        reason = fields.get("58", "")
        if not reason and fields.get("327"):
            reason = f"HaltReason={fields['327']}"
        return [
            Status(
                stream=self.stream,
                symbol=self._symbol(fields),
                seq=self.sequencer.next(),
                venue_seq=self._venue_seq(fields, message.msg_seq_num),
                ts_exchange=self._time(fields),
                ts_recv=ts_recv,
                state=state,
                reason=reason,
            )
        ]
