"""The event schema: one frozen msgspec Struct per event kind.

Every event names its origin (`stream`, `symbol`) and its place in that stream (`seq`, assigned at
ingest, +1 per event from 1), so ``(stream, seq)`` identifies one event in the log, the database, on
the wire and in traces (``stream:seq``). Prices and sizes are exact integers at the instrument's
decimal scale (`price_decimals`, `size_decimals`); decimal strings appear only at the edges
(NDJSON, REST, WebSocket JSON) through :func:`to_json_dict`.

The wire and log encoding is msgpack (:data:`encoder` / :data:`decoder`), tagged by ``kind``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, Literal

import msgspec

__all__ = [
    "PRIORITY_CONTROL",
    "PRIORITY_MARKET_DATA",
    "Alert",
    "BookAction",
    "BookDelta",
    "BookSide",
    "BookSnapshot",
    "Event",
    "Instrument",
    "Metric",
    "Order",
    "OrderAction",
    "Quote",
    "Statistic",
    "Status",
    "Trade",
    "TradeSide",
    "decode",
    "decode_many",
    "decoder",
    "encode",
    "encoder",
    "format_scaled",
    "parse_scaled",
    "to_json_dict",
]

# Alerts and status changes overtake market data in the bus's priority lane.
PRIORITY_MARKET_DATA: Final = 0
PRIORITY_CONTROL: Final = 10

BookSide = Literal["bid", "ask"]
BookAction = Literal["new", "change", "delete"]
TradeSide = Literal["buy", "sell", ""]
OrderAction = Literal["add", "modify", "cancel", "execute"]
Severity = Literal["info", "warning", "critical"]


class _EventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", array_like=True):
    stream: str
    symbol: str
    seq: int = 0
    venue_seq: int = 0
    ts_exchange: int = 0
    ts_recv: int = 0
    priority: int = PRIORITY_MARKET_DATA


class Trade(_EventBase, frozen=True, kw_only=True, tag="trade"):
    price: int
    size: int
    price_decimals: int = 0
    size_decimals: int = 0
    side: TradeSide = ""
    trade_id: str = ""


class Quote(_EventBase, frozen=True, kw_only=True, tag="quote"):
    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    price_decimals: int = 0
    size_decimals: int = 0


class BookDelta(_EventBase, frozen=True, kw_only=True, tag="book_delta"):
    """One price-level entry of a venue message; the book is consistent only at ``batch_end``."""

    side: BookSide
    price: int
    size: int
    action: BookAction
    level: int = 0
    implied: bool = False
    batch_end: bool = True
    price_decimals: int = 0
    size_decimals: int = 0


class BookSnapshot(_EventBase, frozen=True, kw_only=True, tag="book_snapshot"):
    """A full book (or its top levels): ``[price, size]`` pairs, best level first."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    price_decimals: int = 0
    size_decimals: int = 0
    state: str = ""


class Order(_EventBase, frozen=True, kw_only=True, tag="order"):
    """A market-by-order update."""

    order_id: str
    side: BookSide
    price: int
    size: int
    action: OrderAction
    price_decimals: int = 0
    size_decimals: int = 0


class Instrument(_EventBase, frozen=True, kw_only=True, tag="instrument"):
    """Reference data; ``tick_size`` is an integer at ``price_decimals``."""

    tick_size: int = 1
    price_decimals: int = 0
    size_decimals: int = 0
    venue_ids: dict[str, str] = {}
    description: str = ""


class Statistic(_EventBase, frozen=True, kw_only=True, tag="statistic"):
    """Volume, open interest, settlement or another session statistic, exact at ``decimals``."""

    name: str
    value: int
    decimals: int = 0


class Metric(_EventBase, frozen=True, kw_only=True, tag="metric"):
    """A derived value (EMA, VWAP, regression slope...); floats are fine for analytics."""

    name: str
    value: float
    source: str = ""


class Alert(_EventBase, frozen=True, kw_only=True, tag="alert"):
    rule: str
    severity: Severity
    message: str
    priority: int = PRIORITY_CONTROL


class Status(_EventBase, frozen=True, kw_only=True, tag="status"):
    """A change of a book's or a feed's health (SYNCING, LIVE, RESYNC, STALE, ...)."""

    state: str
    reason: str = ""
    priority: int = PRIORITY_CONTROL


Event = (
    Trade
    | Quote
    | BookDelta
    | BookSnapshot
    | Order
    | Instrument
    | Statistic
    | Metric
    | Alert
    | Status
)

encoder: Final = msgspec.msgpack.Encoder()
decoder: Final = msgspec.msgpack.Decoder(Event)
_many_decoder: Final = msgspec.msgpack.Decoder(list[Event])


def encode(event: Event) -> bytes:
    return encoder.encode(event)


def decode(data: bytes | memoryview) -> Event:
    return decoder.decode(data)  # type: ignore[no-any-return]


def decode_many(data: bytes | memoryview) -> list[Event]:
    return _many_decoder.decode(data)


def format_scaled(value: int, decimals: int) -> str:
    """``format_scaled(123450, 2) == "1234.50"``: exact, no float on the way."""
    if decimals <= 0:
        return str(value * 10 ** (-decimals))
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def parse_scaled(text: str, decimals: int) -> int:
    """Exact inverse of :func:`format_scaled`; raises ValueError when ``text`` has more digits."""
    scaled = Decimal(text).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {decimals} decimals")
    return int(scaled)


_PRICE_FIELDS: Final = frozenset({"price", "bid_price", "ask_price", "tick_size"})
_SIZE_FIELDS: Final = frozenset({"size", "bid_size", "ask_size"})


def to_json_dict(event: Event) -> dict[str, Any]:
    """The edge form of an event: a plain dict with ``kind`` and prices/sizes as decimal strings."""
    out: dict[str, Any] = {"kind": type(event).__struct_config__.tag}
    pd = getattr(event, "price_decimals", 0)
    sd = getattr(event, "size_decimals", 0)
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if name in _PRICE_FIELDS:
            out[name] = format_scaled(value, pd)
        elif name in _SIZE_FIELDS:
            out[name] = format_scaled(value, sd)
        elif name in ("bids", "asks"):
            out[name] = [[format_scaled(p, pd), format_scaled(s, sd)] for p, s in value]
        elif name == "value" and isinstance(event, Statistic):
            out[name] = format_scaled(value, event.decimals)
        else:
            out[name] = value
    return out
