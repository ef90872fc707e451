"""Handlers of row messages: trade, quote, order (market by order).

Each handler is built once from its message spec (getters compiled) and called per message with
the routed frame; it returns the events with ``seq`` assigned. A message gives one event, or with
``rows`` one event per element of the array there, in array order (decision 0127). A row that
cannot be decoded is left out and its DecodeError goes to ``Context.row_errors`` (the feed
handler counts and dead-letters it); the other rows still give their events.
"""

from __future__ import annotations

from typing import Any, Final

from ingest.protocols.base import DecodeError
from pipelines.events import Event, Order, Quote, Trade

from .compile import compile_field
from .context import Context, compile_int, compile_symbol, compile_time
from .numbers import scale
from .paths import MISSING, compile_path
from .schema import OrderMessage, QuoteMessage, TradeMessage

_SHAPE_ERRORS: Final = (TypeError, AttributeError, KeyError, IndexError)

__all__ = ["OrderHandler", "QuoteHandler", "TradeHandler"]

_TRADE_SIDES: Final = frozenset({"buy", "sell", ""})
_BOOK_SIDES: Final = {"bid": "bid", "ask": "ask", "buy": "bid", "sell": "ask"}
_ORDER_ACTIONS: Final = frozenset({"add", "modify", "cancel", "execute"})


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


class _MessageHandler:
    """What every row message has: its root, rows, symbol, exchange time and venue seq.

    ``_scope[0]`` holds the message being decoded, where the anchored (``$``) paths read from.
    """

    __slots__ = ("_ctx", "_root", "_rows", "_scope", "_symbol", "_ts", "_vseq")

    def __init__(self, ctx: Context, spec: TradeMessage | QuoteMessage | OrderMessage) -> None:
        self._ctx = ctx
        self._scope: list[Any] = [None]
        scope = self._scope
        self._root = compile_path(spec.root)
        self._rows = compile_path(spec.rows) if spec.rows else None
        self._symbol = compile_symbol(spec.symbol, scope)
        self._ts = compile_time(spec.ts_exchange, scope)
        self._vseq = compile_int(spec.venue_seq, "venue_seq", scope=scope)

    def _event(self, body: Any, ts_recv: int) -> Event:
        raise NotImplementedError

    def __call__(self, frame: Any, ts_recv: int) -> list[Event]:
        body = self._root(frame)
        self._scope[0] = frame
        if self._rows is None:
            return [self._event(body, ts_recv)]
        rows = self._rows(body)
        if type(rows) is not list:
            if rows is MISSING:
                raise DecodeError("missing_field", "rows")
            return [self._event(rows, ts_recv)]  # an object: one row, errors are the message's
        return self._each_row(rows, 0, ts_recv)

    def rows_from(self, frame: Any, start: int, ts_recv: int) -> list[Event]:
        """The events of rows ``start`` onwards of a message whose rows are an array (the
        compiled twin hands a message over here at the first row it does not handle)."""
        self._scope[0] = frame
        rows = self._rows(self._root(frame))  # type: ignore[misc]  # only with rows
        return self._each_row(rows, start, ts_recv)

    def _each_row(self, rows: list[Any], start: int, ts_recv: int) -> list[Event]:
        # Each row is decoded like a message of its own: a rejected row leaves no trace in the
        # numbering or the scales (as engine._one does for a message) and is reported, not raised.
        ctx = self._ctx
        sequencer, scales = ctx.sequencer, ctx.scales
        out: list[Event] = []
        for index in range(start, len(rows)):
            seq = sequencer.seq
            try:
                out.append(self._event(rows[index], ts_recv))
            except DecodeError as exc:
                sequencer.seq = seq
                scales.settle(False)
                ctx.row_errors.append(_row_error(index, exc.reason, exc.detail))
                continue
            except _SHAPE_ERRORS as exc:
                sequencer.seq = seq
                scales.settle(False)
                ctx.row_errors.append(_row_error(index, "bad_shape", str(exc)))
                continue
            if scales.learned:
                scales.settle(True)
        return out


def _row_error(index: int, reason: str, detail: str) -> DecodeError:
    return DecodeError(reason, f"row {index}: {detail}" if detail else f"row {index}")


class TradeHandler(_MessageHandler):
    __slots__ = ("_id", "_price", "_side", "_size")

    def __init__(self, ctx: Context, spec: TradeMessage) -> None:
        super().__init__(ctx, spec)
        scope = self._scope
        self._price = compile_field(spec.price, "price", scope=scope)
        self._size = compile_field(spec.size, "size", scope=scope)
        self._side = compile_field(spec.side, "side", required=False, scope=scope)
        self._id = compile_field(spec.trade_id, "trade_id", required=False, scope=scope)

    def _event(self, body: Any, ts_recv: int) -> Event:
        ctx = self._ctx
        symbol = self._symbol(body)
        price, size = self._price(body), self._size(body)
        decimals = ctx.scales.get(symbol)
        pd, sd = decimals
        if pd is None or sd is None:
            pd, sd = ctx.scales.learn(symbol, [price], [size])
        side = self._side(body)
        side = "" if side is MISSING else side
        if side not in _TRADE_SIDES:
            raise DecodeError("bad_side", repr(side))
        trade_id = self._id(body)
        price_scaler, size_scaler = ctx.scaler(pd), ctx.scaler(sd)
        return Trade(
            stream=ctx.stream,
            symbol=symbol,
            seq=ctx.sequencer.next(),
            venue_seq=self._vseq(body),
            ts_exchange=self._ts(body),
            ts_recv=ts_recv,
            price=price_scaler.values.get(price) or price_scaler(price),
            size=size_scaler.values.get(size) or size_scaler(size),
            price_decimals=pd,
            size_decimals=sd,
            side=side,  # type: ignore[arg-type]  # checked against _TRADE_SIDES
            trade_id="" if trade_id is MISSING else _text(trade_id),
        )


class QuoteHandler(_MessageHandler):
    __slots__ = ("_ask", "_ask_size", "_bid", "_bid_size")

    def __init__(self, ctx: Context, spec: QuoteMessage) -> None:
        super().__init__(ctx, spec)
        scope = self._scope
        self._bid = compile_field(spec.bid_price, "bid_price", scope=scope)
        self._bid_size = compile_field(spec.bid_size, "bid_size", scope=scope)
        self._ask = compile_field(spec.ask_price, "ask_price", scope=scope)
        self._ask_size = compile_field(spec.ask_size, "ask_size", scope=scope)

    def _event(self, body: Any, ts_recv: int) -> Event:
        ctx = self._ctx
        symbol = self._symbol(body)
        bid, bid_size = self._bid(body), self._bid_size(body)
        ask, ask_size = self._ask(body), self._ask_size(body)
        pd, sd = ctx.scales.get(symbol)
        if pd is None or sd is None:
            pd, sd = ctx.scales.learn(symbol, [bid, ask], [bid_size, ask_size])
        prices, sizes = ctx.scaler(pd), ctx.scaler(sd)
        price_of, size_of = prices.values.get, sizes.values.get
        return Quote(
            stream=ctx.stream,
            symbol=symbol,
            seq=ctx.sequencer.next(),
            venue_seq=self._vseq(body),
            ts_exchange=self._ts(body),
            ts_recv=ts_recv,
            # ``or`` falls back to the parser on a miss (and on 0, which is cheap anyway).
            bid_price=price_of(bid) or prices(bid),
            bid_size=size_of(bid_size) or sizes(bid_size),
            ask_price=price_of(ask) or prices(ask),
            ask_size=size_of(ask_size) or sizes(ask_size),
            price_decimals=pd,
            size_decimals=sd,
        )


class OrderHandler(_MessageHandler):
    __slots__ = ("_action", "_id", "_price", "_side", "_size")

    def __init__(self, ctx: Context, spec: OrderMessage) -> None:
        super().__init__(ctx, spec)
        scope = self._scope
        self._id = compile_field(spec.order_id, "order_id", scope=scope)
        self._side = compile_field(spec.side, "side", scope=scope)
        self._price = compile_field(spec.price, "price", scope=scope)
        self._size = compile_field(spec.size, "size", scope=scope)
        self._action = compile_field(spec.action, "action", scope=scope)

    def _event(self, body: Any, ts_recv: int) -> Event:
        ctx = self._ctx
        symbol = self._symbol(body)
        price, size = self._price(body), self._size(body)
        pd, sd = ctx.scales.get(symbol)
        if pd is None or sd is None:
            pd, sd = ctx.scales.learn(symbol, [price], [size])
        side = _BOOK_SIDES.get(_text(self._side(body)))
        if side is None:
            raise DecodeError("bad_side", repr(self._side(body)))
        action = self._action(body)
        if action not in _ORDER_ACTIONS:
            raise DecodeError("bad_action", repr(action))
        scales = ctx.scales
        scaled, int_text = scales.scaled, scales.int_text
        return Order(
            stream=ctx.stream,
            symbol=symbol,
            seq=ctx.sequencer.next(),
            venue_seq=self._vseq(body),
            ts_exchange=self._ts(body),
            ts_recv=ts_recv,
            order_id=_text(self._id(body)),
            side=side,  # type: ignore[arg-type]
            price=scale(price, pd, scaled, int_text),
            size=scale(size, sd, scaled, int_text),
            action=action,
            price_decimals=pd,
            size_decimals=sd,
        )
