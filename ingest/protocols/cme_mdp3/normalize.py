"""Decoded MDP 3.0 messages -> platform events.

Templates are matched by name (``MDIncrementalRefreshBook32``, ``...Book46``, ...), not by number,
so a newer schema's renumbered templates map without code changes. Price decimals come from the
schema: the constant ``exponent`` of each price composite (PRICE -7, PRICE9 -9, ...), looked up
once per template. Symbols are SecurityIDs as strings until a security definition maps the ID to
its ``Symbol`` (then that symbol, from the definition on). ``venue_seq`` is the entry's RptSeq
(0 for order-level messages, which carry none); ``ts_exchange`` is TransactTime.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Final

import msgspec

from ingest.protocols.base import INT64_MAX, Sequencer, out_of_range
from ingest.protocols.cme_mdp3.levels import LevelShadow
from ingest.protocols.cme_mdp3.sequencing import RptSeqTracker
from ingest.protocols.sbe.model import Composite, EncodedType, Field, Group, Message, Schema
from pipelines.events import (
    BookDelta,
    BookSide,
    BookSnapshot,
    Event,
    Instrument,
    Order,
    OrderAction,
    Statistic,
    Status,
    Trade,
    TradeSide,
)

__all__ = ["Normalizer", "price_decimals"]

Values = dict[str, Any]
Handler = Callable[[int, Values, int, list[Event]], None]

_BOOK_SIDES: Final[dict[str, tuple[BookSide, bool]]] = {
    "Bid": ("bid", False),
    "Offer": ("ask", False),
    "ImpliedBid": ("bid", True),
    "ImpliedOffer": ("ask", True),
}
_AGGRESSOR: Final[dict[object, TradeSide]] = {"Buy": "buy", "Sell": "sell"}
_ORDER_ACTIONS: Final[dict[object, OrderAction]] = {
    "New": "add",
    "Change": "modify",
    "Update": "modify",
    "Overlay": "modify",
    "Delete": "cancel",
}
_SESSION_STATS: Final = {
    "OpenPrice": "open",
    "HighTrade": "high",
    "LowTrade": "low",
    "HighestBid": "highest_bid",
    "LowestOffer": "lowest_offer",
    # SnapshotFullRefresh uses the general MDEntryType names:
    "TradingSessionHighPrice": "high",
    "TradingSessionLowPrice": "low",
    "SessionHighBid": "highest_bid",
    "SessionLowOffer": "lowest_offer",
}
_DAILY_PRICES: Final = {"SettlementPrice": "settlement", "FixingPrice": "fixing_price"}
_DAILY_SIZES: Final = {
    "ClearedVolume": "cleared_volume",
    "OpenInterest": "open_interest",
    "ElectronicVolume": "volume",
}
_LIMITS: Final = {
    "HighLimitPrice": "high_limit",
    "LowLimitPrice": "low_limit",
    "MaxPriceVariation": "max_price_variation",
}


_TIMES: Final = ("TransactTime", "LastUpdateTime")


def _exponent(field: Field) -> int | None:
    if isinstance(field.type, Composite):
        exponent = field.type.member("exponent")
        if exponent is not None and isinstance(exponent.type, EncodedType):
            constant = exponent.type.constant
            if isinstance(constant, int):
                return constant
    return None


def price_decimals(message: Message) -> dict[str, int]:
    """Decimals (minus the constant exponent) of every mantissa/exponent field, by field name."""
    out: dict[str, int] = {}

    def walk(fields: tuple[Field, ...], groups: tuple[Group, ...]) -> None:
        for field in fields:
            exponent = _exponent(field)
            if exponent is not None:
                out.setdefault(field.name, -exponent)
        for group in groups:
            walk(group.fields, group.groups)

    walk(message.fields, message.groups)
    return out


def _mantissa(value: Any) -> int | None:
    if value is None:
        return None
    mantissa: int | None = value["mantissa"]
    if mantissa is not None and not -INT64_MAX <= mantissa <= INT64_MAX:
        raise out_of_range("mantissa", mantissa)  # INT64_MIN where the field is not nullable
    return mantissa


class Normalizer:
    """Per-channel state (symbols, RptSeq, level shadow) and one handler per template."""

    def __init__(
        self,
        stream: str,
        schema: Schema,
        sequencer: Sequencer,
        *,
        implied: bool = True,
        orders: bool = True,
        definition_symbols: bool = True,
        feed_symbol: str = "_feed",
    ) -> None:
        self.stream = stream
        self.feed_symbol = feed_symbol
        self.sequencer = sequencer
        self.implied = implied
        self.orders = orders
        self.definition_symbols = definition_symbols
        self.symbols: dict[int, str] = {}
        self.rpt_seq = RptSeqTracker()
        self.levels = LevelShadow()
        self.unmapped: Counter[str] = Counter()
        self.decimals = {tid: price_decimals(m) for tid, m in schema.messages.items()}
        self.handlers: dict[int, Handler] = {}
        for tid, message in schema.messages.items():
            handler = self._handler_for(message.name)
            if handler is not None:
                self.handlers[tid] = handler

    def _handler_for(self, name: str) -> Handler | None:
        # Longest prefix first: "OrderBook" before "Book", "TradeSummary" before "Trade".
        prefixes: list[tuple[str, Handler]] = [
            ("MDIncrementalRefreshOrderBook", self._order_book),
            ("MDIncrementalRefreshTradeSummary", self._trades),
            ("MDIncrementalRefreshTrade", self._trades),
            ("MDIncrementalRefreshBook", self._book),
            ("MDIncrementalRefreshVolume", self._volume),
            ("MDIncrementalRefreshSessionStatistics", self._session_statistics),
            ("MDIncrementalRefreshDailyStatistics", self._daily_statistics),
            ("MDIncrementalRefreshLimitsBanding", self._limits),
            ("SnapshotFullRefreshOrderBook", self._snapshot_orders),
            ("SnapshotFullRefresh", self._snapshot),
            ("SecurityStatus", self._security_status),
            ("MDInstrumentDefinition", self._definition),
            ("ChannelReset", self._channel_reset),
        ]
        for prefix, handler in prefixes:
            if name.startswith(prefix):
                return handler
        return None

    def message(self, template_id: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        """Appends the events of one decoded message; DecodeError for a value no event can hold
        (the caller drops what this message appended)."""
        handler = self.handlers.get(template_id)
        if handler is None:
            self.unmapped[f"template_{template_id}"] += 1
            return
        # The uint64 times every handler reads: past INT64_MAX they fit no event.
        for key in _TIMES:
            value = values.get(key)
            if value is not None and value > INT64_MAX:
                raise out_of_range(key, value)
        handler(template_id, values, ts_recv, out)

    # -- shared helpers -------------------------------------------------------------------------
    def symbol(self, security_id: int) -> str:
        symbol = self.symbols.get(security_id)
        if symbol is None:
            symbol = self.symbols[security_id] = str(security_id)
        return symbol

    def _entry_symbol(self, entry: Values, ts: int, ts_recv: int, out: list[Event]) -> str | None:
        """The symbol of a ``NoMDEntries`` entry after checking its RptSeq: None for a stale entry
        (skip it); a jump appends a GAP status first."""
        # Every sequenced handler calls this first for each entry: one call where the RptSeq check
        # and the symbol lookup were two. (A generator over the entries read better but cost
        # ~10% of the normalizer's time: most messages carry one or two entries.)
        security_id, rpt = entry["SecurityID"], entry["RptSeq"]
        result = self.rpt_seq.check(security_id, rpt)
        if result < 0:
            return None
        # symbols holds no empty string: only a miss falls through to symbol()
        symbol = self.symbols.get(security_id) or self.symbol(security_id)
        if result:
            reason = f"RptSeq expected {rpt - result} received {rpt}"
            out.append(self._status(symbol, "GAP", reason, ts, ts_recv, rpt))
        return symbol

    def _status(
        self, symbol: str, state: str, reason: str, ts: int, ts_recv: int, venue_seq: int = 0
    ) -> Status:
        return Status(
            stream=self.stream,
            symbol=symbol,
            seq=self.sequencer.next(),
            venue_seq=venue_seq,
            ts_exchange=ts,
            ts_recv=ts_recv,
            state=state,
            reason=reason,
        )

    def _statistic(
        self, symbol: str, rpt: int, name: str, value: int, decimals: int, ts: int, ts_recv: int
    ) -> Statistic:
        return Statistic(
            stream=self.stream,
            symbol=symbol,
            seq=self.sequencer.next(),
            venue_seq=rpt,
            ts_exchange=ts,
            ts_recv=ts_recv,
            name=name,
            value=value,
            decimals=decimals,
        )

    def _order(
        self,
        symbol: str,
        venue_seq: int,
        ts: int,
        ts_recv: int,
        order_id: str,
        side: BookSide,
        price: Values | None,
        size: int,
        action: OrderAction,
        decimals: int,
    ) -> Order:
        """``price`` is the raw composite: its range is checked after ``seq`` is drawn, as it
        always was (the decoder rewinds the sequencer on a DecodeError either way)."""
        return Order(
            stream=self.stream,
            symbol=symbol,
            seq=self.sequencer.next(),
            venue_seq=venue_seq,
            ts_exchange=ts,
            ts_recv=ts_recv,
            order_id=order_id,
            side=side,
            price=_mantissa(price) or 0,
            size=size,
            action=action,
            price_decimals=decimals,
        )

    # -- book ---------------------------------------------------------------------------------
    def _book(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        first = len(out)
        entries = values["NoMDEntries"]
        levels = self.levels
        stream, sequencer = self.stream, self.sequencer

        for entry in entries:
            symbol = self._entry_symbol(entry, ts, ts_recv, out)
            if symbol is None:
                continue
            security_id, rpt = entry["SecurityID"], entry["RptSeq"]
            entry_type = entry["MDEntryType"]
            if entry_type == "BookReset":
                levels.clear(security_id)
                out.append(self._status(symbol, "RESET", "BookReset", ts, ts_recv))
                continue
            side_info = _BOOK_SIDES.get(entry_type)
            if side_info is None:
                self.unmapped[f"book_entry_{entry_type}"] += 1
                continue
            side, implied = side_info
            if implied and not self.implied:
                continue
            level = entry["MDPriceLevel"]
            action = entry["MDUpdateAction"]
            price = _mantissa(entry["MDEntryPx"])
            size = entry["MDEntrySize"] or 0
            changes: list[tuple[int, int, str]] = []  # (price, size, action)
            if action in ("DeleteThru", "DeleteFrom"):
                removed = (
                    levels.delete_thru(security_id, entry_type, level)
                    if action == "DeleteThru"
                    else levels.delete_from(security_id, entry_type, level)
                )
                changes = [(p, 0, "delete") for p in removed]
            elif price is None:
                self.unmapped["book_null_price"] += 1
                continue
            elif action == "New":
                depth = levels.depth(security_id, implied)
                pushed = levels.new(security_id, entry_type, level, price, depth)
                changes.append((price, size, "new"))
                if pushed is not None and pushed != price:
                    changes.append((pushed, 0, "delete"))
            elif action in ("Change", "Overlay"):
                replaced = levels.change(security_id, entry_type, level, price)
                if replaced is not None:
                    changes.append((replaced, 0, "delete"))
                    changes.append((price, size, "new"))
                else:
                    changes.append((price, size, "change"))
            elif action == "Delete":
                levels.delete(security_id, entry_type, level, price)
                changes.append((price, 0, "delete"))
            else:
                self.unmapped[f"book_action_{action}"] += 1
                continue
            for change_price, change_size, change_action in changes:
                out.append(
                    BookDelta(
                        stream=stream,
                        symbol=symbol,
                        seq=sequencer.next(),
                        venue_seq=rpt,
                        ts_exchange=ts,
                        ts_recv=ts_recv,
                        side=side,
                        price=change_price,
                        size=change_size,
                        action=change_action,  # type: ignore[arg-type]  # one of BookAction
                        level=level,
                        implied=implied,
                        batch_end=False,
                        price_decimals=decimals,
                    )
                )
        for index in range(len(out) - 1, first - 1, -1):
            if isinstance(out[index], BookDelta):
                out[index] = msgspec.structs.replace(out[index], batch_end=True)
                break
        if self.orders and values.get("NoOrderIDEntries"):
            self._book_orders(values, entries, decimals, ts, ts_recv, out)

    def _book_orders(
        self,
        values: Values,
        entries: list[Values],
        decimals: int,
        ts: int,
        ts_recv: int,
        out: list[Event],
    ) -> None:
        # MBOFD: each order entry points (ReferenceID, 1-based) at the price-level entry it sits on.
        for order in values["NoOrderIDEntries"]:
            reference = order["ReferenceID"]
            if reference is None or not 1 <= reference <= len(entries):
                self.unmapped["order_bad_reference"] += 1
                continue
            entry = entries[reference - 1]
            side_info = _BOOK_SIDES.get(entry["MDEntryType"])
            action = _ORDER_ACTIONS.get(order["OrderUpdateAction"])
            if side_info is None or action is None:
                self.unmapped["order_unmapped"] += 1
                continue
            symbol = self.symbol(entry["SecurityID"])
            out.append(
                self._order(symbol, entry["RptSeq"], ts, ts_recv, str(order["OrderID"]),
                            side_info[0], entry["MDEntryPx"], order["MDDisplayQty"] or 0, action,
                            decimals)
            )  # fmt: skip

    def _order_book(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        for entry in values["NoMDEntries"]:
            side_info = _BOOK_SIDES.get(entry["MDEntryType"])
            action = _ORDER_ACTIONS.get(entry["MDUpdateAction"])
            if side_info is None or action is None:
                self.unmapped["order_unmapped"] += 1
                continue
            symbol = self.symbol(entry["SecurityID"])
            order_id = entry["OrderID"]
            out.append(
                self._order(symbol, 0, ts, ts_recv, "" if order_id is None else str(order_id),
                            side_info[0], entry["MDEntryPx"], entry["MDDisplayQty"] or 0, action,
                            decimals)
            )  # fmt: skip

    # -- trades, volume, statistics --------------------------------------------------------------
    def _trades(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        for entry in values["NoMDEntries"]:
            symbol = self._entry_symbol(entry, ts, ts_recv, out)
            if symbol is None:
                continue
            rpt = entry["RptSeq"]
            price = _mantissa(entry["MDEntryPx"]) or 0
            trade_id = entry.get("MDTradeEntryID") or entry.get("TradeID")
            trade_id = "" if trade_id is None else str(trade_id)
            if entry["MDUpdateAction"] != "New":
                # A trade correction or bust: never a new trade; reported, not printed.
                reason = f"trade {trade_id} price {price} size {entry['MDEntrySize']}"
                out.append(self._status(symbol, "TRADE_CANCEL", reason, ts, ts_recv))
                continue
            out.append(
                Trade(
                    stream=self.stream,
                    symbol=symbol,
                    seq=self.sequencer.next(),
                    venue_seq=rpt,
                    ts_exchange=ts,
                    ts_recv=ts_recv,
                    price=price,
                    size=entry["MDEntrySize"] or 0,
                    price_decimals=decimals,
                    side=_AGGRESSOR.get(entry.get("AggressorSide"), ""),
                    trade_id=trade_id,
                )
            )

    def _volume(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        for entry in values["NoMDEntries"]:
            symbol = self._entry_symbol(entry, ts, ts_recv, out)
            if symbol is None:
                continue
            rpt = entry["RptSeq"]
            volume = entry["MDEntrySize"] or 0
            out.append(self._statistic(symbol, rpt, "volume", volume, 0, ts, ts_recv))

    def _session_statistics(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        for entry in values["NoMDEntries"]:
            symbol = self._entry_symbol(entry, ts, ts_recv, out)
            if symbol is None:
                continue
            rpt = entry["RptSeq"]
            name = _SESSION_STATS.get(entry["MDEntryType"])
            if name is None:
                self.unmapped[f"statistic_{entry['MDEntryType']}"] += 1
                continue
            if entry.get("OpenCloseSettlFlag") == "IndicativeOpeningPrice":
                name = "indicative_open"
            if entry["MDUpdateAction"] == "Delete":
                name += "_delete"  # the venue withdrew this value (e.g. an indicative open)
            price = _mantissa(entry["MDEntryPx"])
            if price is not None:
                out.append(self._statistic(symbol, rpt, name, price, decimals, ts, ts_recv))
            size = entry.get("MDEntrySize")
            if size is not None:
                out.append(self._statistic(symbol, rpt, f"{name}_size", size, 0, ts, ts_recv))

    def _daily_statistics(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        for entry in values["NoMDEntries"]:
            symbol = self._entry_symbol(entry, ts, ts_recv, out)
            if symbol is None:
                continue
            rpt = entry["RptSeq"]
            self._daily_entry(symbol, rpt, entry, decimals, ts, ts_recv, out)

    def _daily_entry(
        self,
        symbol: str,
        rpt: int,
        entry: Values,
        decimals: int,
        ts: int,
        ts_recv: int,
        out: list[Event],
    ) -> bool:
        entry_type = entry["MDEntryType"]
        suffix = "_delete" if entry.get("MDUpdateAction") == "Delete" else ""
        if entry_type in _DAILY_PRICES:
            price = _mantissa(entry["MDEntryPx"])
            if price is not None:
                name = _DAILY_PRICES[entry_type] + suffix
                out.append(self._statistic(symbol, rpt, name, price, decimals, ts, ts_recv))
            return True
        if entry_type in _DAILY_SIZES:
            size = entry["MDEntrySize"]
            if size is not None:
                name = _DAILY_SIZES[entry_type] + suffix
                out.append(self._statistic(symbol, rpt, name, size, 0, ts, ts_recv))
            return True
        return False

    def _limits(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid]
        for entry in values["NoMDEntries"]:
            symbol = self._entry_symbol(entry, ts, ts_recv, out)
            if symbol is None:
                continue
            rpt = entry["RptSeq"]
            for field, name in _LIMITS.items():
                price = _mantissa(entry.get(field))
                if price is not None:
                    stat = self._statistic(symbol, rpt, name, price, decimals[field], ts, ts_recv)
                    out.append(stat)

    # -- snapshots ------------------------------------------------------------------------------
    def _snapshot(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        security_id, rpt = values["SecurityID"], values["RptSeq"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        symbol = self.symbol(security_id)
        self.rpt_seq.reset(security_id, rpt)
        sides: dict[str, list[tuple[int, int, int]]] = {}
        for entry in values["NoMDEntries"]:
            entry_type = entry["MDEntryType"]
            price = _mantissa(entry["MDEntryPx"])
            if entry_type in _BOOK_SIDES:
                if price is not None:
                    level = entry["MDPriceLevel"] or 0
                    sides.setdefault(entry_type, []).append(
                        (level, price, entry["MDEntrySize"] or 0)
                    )
            elif entry_type in _SESSION_STATS and price is not None:
                name = _SESSION_STATS[entry_type]
                out.append(self._statistic(symbol, rpt, name, price, decimals, ts, ts_recv))
            elif entry_type == "Trade" and price is not None:
                out.append(self._statistic(symbol, rpt, "last", price, decimals, ts, ts_recv))
            elif not self._daily_entry(symbol, rpt, entry, decimals, ts, ts_recv, out):
                self.unmapped[f"snapshot_entry_{entry_type}"] += 1
        self.levels.clear(security_id)
        for entry_type, rows in sides.items():
            rows.sort()
            self.levels.replace(security_id, entry_type, [price for _, price, _ in rows])
        bids = [(p, s) for _, p, s in sorted(sides.get("Bid", []))]
        asks = [(p, s) for _, p, s in sorted(sides.get("Offer", []))]
        status = values.get("MDSecurityTradingStatus")
        out.append(
            BookSnapshot(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                venue_seq=rpt,
                ts_exchange=ts,
                ts_recv=ts_recv,
                bids=bids,
                asks=asks,
                price_decimals=decimals,
                state="" if status is None else str(status),
            )
        )

    def _snapshot_orders(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        ts = values["TransactTime"]
        decimals = self.decimals[tid].get("MDEntryPx", 0)
        symbol = self.symbol(values["SecurityID"])
        for entry in values["NoMDEntries"]:
            side_info = _BOOK_SIDES.get(entry["MDEntryType"])
            if side_info is None:
                continue
            out.append(
                self._order(symbol, 0, ts, ts_recv, str(entry["OrderID"]), side_info[0],
                            entry["MDEntryPx"], entry["MDDisplayQty"] or 0, "add", decimals)
            )  # fmt: skip

    # -- status and reference data ----------------------------------------------------------------
    def _security_status(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        security_id = values.get("SecurityID")
        # Without a SecurityID the status applies to a whole security group (e.g. "ES").
        symbol = (
            self.symbol(security_id) if security_id is not None else values.get("SecurityGroup")
        )
        state = values.get("SecurityTradingStatus")
        reason = f"{values.get('HaltReason')} {values.get('SecurityTradingEvent')}"
        out.append(
            self._status(
                symbol or "",
                "" if state is None else str(state),
                reason,
                values["TransactTime"],
                ts_recv,
            )
        )

    def _definition(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        security_id = values["SecurityID"]
        symbol = (values.get("Symbol") or "").strip() or str(security_id)
        if self.definition_symbols:
            self.symbols[security_id] = symbol
        for feed in values.get("NoMDFeedTypes") or ():
            depth = feed.get("MarketDepth")
            if isinstance(depth, int) and depth > 0:
                implied = (feed.get("MDFeedType") or "").strip() == "GBI"
                self.levels.depths[(security_id, implied)] = depth
        venue_ids = {"SecurityID": str(security_id)}
        for key in ("SecurityGroup", "Asset", "SecurityExchange", "CFICode", "Currency"):
            value = values.get(key)
            if value:
                venue_ids[key] = str(value)
        description = " ".join(
            str(values[key]) for key in ("SecurityType", "CFICode") if values.get(key)
        )
        out.append(
            Instrument(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                ts_exchange=values.get("LastUpdateTime") or 0,
                ts_recv=ts_recv,
                tick_size=_mantissa(values.get("MinPriceIncrement")) or 0,
                price_decimals=self.decimals[tid].get("MinPriceIncrement", 0),
                venue_ids=venue_ids,
                description=description,
            )
        )

    def _channel_reset(self, tid: int, values: Values, ts_recv: int, out: list[Event]) -> None:
        # Every instrument's RptSeq restarts and every book is to be cleared.
        self.rpt_seq.clear()
        self.levels.clear()
        out.append(
            self._status(self.feed_symbol, "RESET", "ChannelReset", values["TransactTime"], ts_recv)
        )
