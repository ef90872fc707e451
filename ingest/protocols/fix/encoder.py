"""Events → FIX W/X/d/f messages with correct BodyLength (9) and CheckSum (10).

The simulator serves FIX with it; decoding its output gives back the same events when each
symbol keeps one price/size scale and every message's time is non-zero (the round-trip tests).

Grouping: consecutive BookDelta/Trade/Statistic events share one X message up to a BookDelta with
``batch_end`` (the decoder sets ``batch_end`` on the last book entry of a message), or until
``ts_exchange`` changes (one SendingTime per message). BookSnapshot → W, Instrument → d,
Status → f. Per-entry RptSeq (83) carries ``venue_seq`` (MsgSeqNum is the encoder's own session
counter).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ingest.protocols.fix.parser import checksum
from ingest.protocols.fix.tables import INSTRUMENT_TAGS, STATISTIC_TYPES, TRADING_STATUS_CODES
from ingest.protocols.fix.timestamps import format_utc_timestamp
from ingest.protocols.fix.venues import DEFAULT_SYMBOL_TAGS, SYMBOL_TAGS_BY_EXCHANGE
from pipelines.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Statistic,
    Status,
    Trade,
    format_scaled,
)

__all__ = ["FixEncoder"]

_ACTION_CODES = {"new": "0", "change": "1", "delete": "2"}
_SIDE_CODES = {"buy": "1", "sell": "2"}
_SIZE_STATISTICS = frozenset({"imbalance", "volume", "open_interest", "electronic_volume"})

Fields = list[tuple[str, str]]


class FixEncoder:
    """Stateful (MsgSeqNum counts up from ``next_seq``); ``time_digits`` of SendingTime is 9 by
    default so nanosecond exchange times survive, 3 for peers that accept milliseconds only."""

    def __init__(
        self,
        begin_string: str = "FIX.4.4",
        sender_comp_id: str = "TICKERPLANT",
        target_comp_id: str = "CLIENT",
        *,
        appl_ver_id: str = "",
        next_seq: int = 1,
        time_digits: int = 9,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.begin_string = begin_string
        self.sender_comp_id = sender_comp_id
        self.target_comp_id = target_comp_id
        # FIXT.1.1 carries the application version in the header (ApplVerID 1128, 9 = 5.0SP2).
        self.appl_ver_id = appl_ver_id or ("9" if begin_string == "FIXT.1.1" else "")
        self.next_seq = next_seq
        self.time_digits = time_digits
        self.clock = clock
        self._trade_side_tag = "2446" if self.appl_ver_id else "54"

    def encode(self, events: list[Event]) -> bytes:
        return b"".join(self.encode_messages(events))

    def encode_messages(self, events: Iterable[Event]) -> list[bytes]:
        """One bytes object per FIX message."""
        out: list[bytes] = []
        batch: list[BookDelta | Trade | Statistic] = []
        for event in events:
            if isinstance(event, BookDelta | Trade | Statistic):
                if batch and batch[0].ts_exchange != event.ts_exchange:
                    out.append(self._incremental(batch))
                    batch = []
                batch.append(event)
                if isinstance(event, BookDelta) and event.batch_end:
                    out.append(self._incremental(batch))
                    batch = []
                continue
            if batch:
                out.append(self._incremental(batch))
                batch = []
            if isinstance(event, BookSnapshot):
                out.append(self._snapshot(event))
            elif isinstance(event, Instrument):
                out.append(self._instrument(event))
            elif isinstance(event, Status):
                out.append(self._status(event))
            else:
                raise ValueError(f"FIX has no message for {type(event).__name__} events")
        if batch:
            out.append(self._incremental(batch))
        return out

    # -- framing -----------------------------------------------------------------------------
    def message(self, msg_type: str, body: Fields, ts: int = 0) -> bytes:
        """A complete message: standard header, ``body`` fields in order, trailer."""
        seq = self.next_seq
        self.next_seq += 1
        sending = format_utc_timestamp(ts or self.clock(), self.time_digits)
        parts = [f"35={msg_type}\x01"]
        if self.appl_ver_id:
            parts.append(f"1128={self.appl_ver_id}\x01")
        parts.append(
            f"49={self.sender_comp_id}\x0156={self.target_comp_id}\x0134={seq}\x0152={sending}\x01"
        )
        parts.extend(f"{tag}={value}\x01" for tag, value in body)
        payload = "".join(parts).encode("latin-1")
        head = f"8={self.begin_string}\x019={len(payload)}\x01".encode("latin-1") + payload
        return head + b"10=%03d\x01" % checksum(head)

    # -- messages ----------------------------------------------------------------------------
    def _incremental(self, batch: list[BookDelta | Trade | Statistic]) -> bytes:
        body: Fields = [("268", str(len(batch)))]
        for event in batch:
            if isinstance(event, BookDelta):
                code = (
                    ("E" if event.side == "bid" else "F")
                    if event.implied
                    else ("0" if event.side == "bid" else "1")
                )
                body += [
                    ("279", _ACTION_CODES[event.action]),
                    ("269", code),
                    ("55", event.symbol),
                    ("270", format_scaled(event.price, event.price_decimals)),
                    ("271", format_scaled(event.size, event.size_decimals)),
                ]
                if event.level:
                    body.append(("1023", str(event.level)))
            elif isinstance(event, Trade):
                body += [
                    ("279", "0"),
                    ("269", "2"),
                    ("55", event.symbol),
                    ("270", format_scaled(event.price, event.price_decimals)),
                    ("271", format_scaled(event.size, event.size_decimals)),
                ]
                if event.trade_id:
                    body.append(("278", event.trade_id))
                if event.side:
                    body.append((self._trade_side_tag, _SIDE_CODES[event.side]))
            else:
                stat_code = STATISTIC_TYPES.get(event.name)
                if stat_code is None:
                    raise ValueError(f"no MDEntryType for statistic {event.name!r}")
                value_tag = "271" if event.name in _SIZE_STATISTICS else "270"
                body += [
                    ("279", "0"),
                    ("269", stat_code),
                    ("55", event.symbol),
                    (value_tag, format_scaled(event.value, event.decimals)),
                ]
            if event.venue_seq:
                body.append(("83", str(event.venue_seq)))
        return self.message("X", body, batch[0].ts_exchange)

    def _snapshot(self, event: BookSnapshot) -> bytes:
        body: Fields = [("55", event.symbol)]
        if event.venue_seq:
            body.append(("83", str(event.venue_seq)))
        body.append(("268", str(len(event.bids) + len(event.asks))))
        for code, levels in (("0", event.bids), ("1", event.asks)):
            for price, size in levels:
                body += [
                    ("269", code),
                    ("270", format_scaled(price, event.price_decimals)),
                    ("271", format_scaled(size, event.size_decimals)),
                ]
        return self.message("W", body, event.ts_exchange)

    def _instrument(self, event: Instrument) -> bytes:
        # The exchange's convention names the tag of the instrument (CME Globex: SecurityDesc
        # 107, with the product code in 55 from venue_ids); its 107 then holds no description.
        exchange = event.venue_ids.get("exchange", "")
        symbol_tag = SYMBOL_TAGS_BY_EXCHANGE.get(exchange, DEFAULT_SYMBOL_TAGS)[0]
        body: Fields = [(symbol_tag, event.symbol)]
        written = {symbol_tag}
        if event.description and "107" not in written:
            body.append(("107", event.description))
            written.add("107")
        for key, value in event.venue_ids.items():
            tag = INSTRUMENT_TAGS.get(key)
            if tag is not None and tag not in written:
                body.append((tag, value))
                written.add(tag)
        if event.size_decimals:
            body.append(("562", format_scaled(1, event.size_decimals)))
        body.append(("969", format_scaled(event.tick_size, event.price_decimals)))
        if event.venue_seq:
            body.append(("83", str(event.venue_seq)))
        return self.message("d", body, event.ts_exchange)

    def _status(self, event: Status) -> bytes:
        body: Fields = [("55", event.symbol)]
        if event.state.startswith("STATUS_"):
            body.append(("326", event.state.removeprefix("STATUS_")))
        elif event.state != "UNKNOWN":
            code = TRADING_STATUS_CODES.get(event.state)
            if code is None:
                raise ValueError(f"no SecurityTradingStatus for state {event.state!r}")
            body.append(("326", code))
        if event.reason:
            body.append(("58", event.reason))
        if event.venue_seq:
            body.append(("83", str(event.venue_seq)))
        return self.message("f", body, event.ts_exchange)
