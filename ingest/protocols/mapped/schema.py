"""The mapping language as typed msgspec Structs, and the loader.

A mapping is one TOML file per venue (``ingest/mappings/<venue>.toml``). It is parsed once into
these Structs (unknown keys are errors that name the key, e.g. ``messages.depth.levls``) and then
compiled (:mod:`.compile`) into getters and dispatch tables; ``docs/mappings.md`` has every key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .paths import PathError, anchored, parse_path

__all__ = [
    "BookMessage",
    "Checksum",
    "CsvFormat",
    "Field",
    "FieldSpec",
    "IgnoreMessage",
    "InstrumentSpec",
    "LevelList",
    "Mapping",
    "MappingError",
    "MessageSpec",
    "Numbers",
    "OrderMessage",
    "QuoteMessage",
    "Route",
    "Routing",
    "SnapshotSource",
    "Subscribe",
    "Sync",
    "TradeMessage",
    "Venue",
    "load_mapping",
    "loads_mapping",
]

MAPPINGS_DIR = Path(__file__).resolve().parent.parent.parent / "mappings"

Decimals = int | Literal["auto"]
TimeUnit = Literal["s", "ms", "us", "ns", "iso"]


class MappingError(ValueError):
    """A mapping that does not parse or validate; ``key`` is the dotted key at fault."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + message)


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class FieldSpec(_Spec, frozen=True):
    """A value read from the message: ``path``, or a constant; ``map`` translates values."""

    path: str = ""
    const: str | int | None = None
    map: dict[str, str] = {}
    default: str | int | None = None
    unit: TimeUnit = "ns"


# A field is a bare path string, or a table with options.
Field = str | FieldSpec


class Venue(_Spec, frozen=True):
    name: str
    protocol: Literal["json", "csv"] = "json"
    description: str = ""


class Numbers(_Spec, frozen=True):
    """How prices and sizes are written; ``auto`` takes the decimals of the feed's own strings."""

    price_decimals: Decimals = "auto"
    size_decimals: Decimals = "auto"
    scaled: bool = False


class InstrumentSpec(_Spec, frozen=True):
    price_decimals: Annotated[int, Meta(ge=0, le=30)] | None = None
    size_decimals: Annotated[int, Meta(ge=0, le=30)] | None = None


class Subscribe(_Spec, frozen=True):
    url: str = ""
    streams: list[str] = []
    stream_separator: str = "/"
    messages: list[str] = []


class Route(_Spec, frozen=True):
    """Look up the value at ``path`` (optionally a ``split`` part) in ``values``."""

    path: str
    values: dict[str, str]
    split: str = ""
    part: int = 0


class Routing(_Spec, frozen=True):
    rules: list[Route] = []
    # Message name used when no rule decides; "ignore" counts the frame; "error" raises.
    default: str = "error"
    # A path to a list whose elements are each routed as their own message.
    each: str = ""


class LevelList(_Spec, frozen=True):
    """One list of price levels: ``[price, size, ...]`` arrays or objects, or a single entry."""

    path: str
    side: Literal["bid", "ask"] | None = None
    side_field: Field | None = None
    price: str = "[0]"
    size: str = "[1]"
    id: str = ""
    action: Field | None = None
    level: str = ""
    ts_exchange: Field | None = None
    snapshot: bool = False
    single: bool = False


class Sync(_Spec, frozen=True):
    rule: Literal["update_id_range", "prev_id_chain", "strict_increment", "none"] = "none"
    first_id: str = ""
    last_id: str = ""
    prev_id: str = ""
    max_buffer: Annotated[int, Meta(ge=0)] = 10_000


class SnapshotSource(_Spec, frozen=True):
    source: Literal["stream", "rest", "none"] = "none"
    url: str = ""
    symbol_from_url: str = "query:symbol"
    id: str = ""
    bids: str = "bids"
    asks: str = "asks"
    price: str = "[0]"
    size: str = "[1]"


class Checksum(_Spec, frozen=True):
    path: str
    algorithm: Literal["crc32"] = "crc32"
    depth: Annotated[int, Meta(ge=1)] = 10
    order: Literal["asks_then_bids", "bids_then_asks", "interleaved_bid_ask"] = "asks_then_bids"
    format: Literal["digits", "decimal"] = "digits"
    separator: str = ""
    signed: bool = False


class _Message(_Spec, frozen=True, kw_only=True, tag_field="kind"):
    root: str = ""
    symbol: Field = "symbol"
    ts_exchange: Field | None = None
    venue_seq: Field | None = None


class _RowsMessage(_Message, frozen=True, kw_only=True):
    # A path (from ``root``) to an array of rows: one event per row, the other field paths
    # relative to the row ("$..." paths from the message). "" or a non-array: one row.
    rows: str = ""


class TradeMessage(_RowsMessage, frozen=True, kw_only=True, tag="trade"):
    price: Field
    size: Field
    side: Field | None = None
    trade_id: Field | None = None


class QuoteMessage(_RowsMessage, frozen=True, kw_only=True, tag="quote"):
    bid_price: Field
    bid_size: Field
    ask_price: Field
    ask_size: Field


class OrderMessage(_RowsMessage, frozen=True, kw_only=True, tag="order"):
    order_id: Field
    side: Field
    price: Field
    size: Field
    action: Field


class BookMessage(_Message, frozen=True, kw_only=True, tag="book"):
    levels: list[LevelList]
    bodies: str = ""
    depth: Annotated[int, Meta(ge=0)] = 0
    sync: Sync = Sync()
    snapshot: SnapshotSource = SnapshotSource()
    checksum: Checksum | None = None


class IgnoreMessage(_Spec, frozen=True, tag_field="kind", tag="ignore"):
    pass


MessageSpec = TradeMessage | QuoteMessage | OrderMessage | BookMessage | IgnoreMessage


class CsvFormat(_Spec, frozen=True):
    delimiter: Annotated[str, Meta(min_length=1, max_length=1)] = ","
    header: bool = True
    columns: list[str] = []
    comment: str = ""


class Mapping(_Spec, frozen=True):
    venue: Venue
    numbers: Numbers = Numbers()
    instruments: dict[str, InstrumentSpec] = {}
    subscribe: Subscribe = Subscribe()
    routing: Routing = Routing()
    messages: dict[str, MessageSpec] = {}
    csv: CsvFormat = CsvFormat()


class _RawMapping(_Spec, frozen=True):
    # Messages are validated one by one so an error names ``messages.<name>``; msgspec's own
    # error path shows dict keys as ``[...]``.
    venue: Venue
    numbers: Numbers = Numbers()
    instruments: dict[str, InstrumentSpec] = {}
    subscribe: Subscribe = Subscribe()
    routing: Routing = Routing()
    messages: dict[str, dict[str, Any]] = {}
    csv: CsvFormat = CsvFormat()


def _error_key(exc: msgspec.ValidationError, prefix: str) -> tuple[str, str]:
    message = str(exc)
    key = ""
    for marker in ("unknown field `", "missing required field `"):
        if marker in message:
            key = message.split(marker, 1)[1].split("`", 1)[0]
    if " - at `$" in message:
        location = message.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".")
        location = location.replace("[...]", "")
        key = f"{location}.{key}" if key and location else (location or key)
    full = ".".join(part for part in (prefix, key) if part)
    return full, message.split(" - at `$", 1)[0]


def _convert(raw: Any, kind: Any, source: str, prefix: str) -> Any:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        key, message = _error_key(exc, prefix)
        raise MappingError(source, key, message) from None


def _check_paths(mapping: Mapping, source: str) -> None:
    # Paths are parsed here too so a typo fails at load time with its key, not at compile time.
    def walk(value: Any, key: str) -> None:
        if isinstance(value, msgspec.Struct):
            for name in value.__struct_fields__:
                walk(getattr(value, name), f"{key}.{name}" if key else name)
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{key}.{name}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{key}[{index}]")
        elif isinstance(value, str) and _is_path_key(key):
            try:
                parse_path(value)
            except PathError as exc:
                raise MappingError(source, key, str(exc)) from None
            if anchored(value)[0] and not _anchor_allowed(mapping, key):
                raise MappingError(
                    source,
                    key,
                    f"{value!r}: a '$' path (from the message) is only for the fields of "
                    "trade, quote and order messages",
                )

    walk(mapping, "")


def _anchor_allowed(mapping: Mapping, key: str) -> bool:
    # messages.<name>.<field>[.path] of a trade, quote or order message; not root or rows.
    for name, spec in mapping.messages.items():
        prefix = f"messages.{name}."
        if key.startswith(prefix):
            field = key[len(prefix) :].split(".", 1)[0]
            return field not in ("root", "rows") and isinstance(
                spec, TradeMessage | QuoteMessage | OrderMessage
            )
    return False


_PATH_KEYS = frozenset(
    {
        "path",
        "root",
        "rows",
        "bodies",
        "each",
        "price",
        "size",
        "id",
        "level",
        "first_id",
        "last_id",
        "prev_id",
        "bids",
        "asks",
        "symbol",
        "ts_exchange",
        "venue_seq",
        "bid_price",
        "bid_size",
        "ask_price",
        "ask_size",
        "side",
        "trade_id",
        "order_id",
        "action",
        "side_field",
    }
)


def _is_path_key(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return last in _PATH_KEYS and ".map." not in key and not key.startswith(("subscribe", "venue"))


def loads_mapping(text: str, source: str = "<mapping>") -> Mapping:
    """Parse and validate a mapping from TOML text; raises MappingError naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(source, "", f"TOML syntax: {exc}") from None
    raw: _RawMapping = _convert(data, _RawMapping, source, "")
    messages: dict[str, MessageSpec] = {}
    for name, spec in raw.messages.items():
        if "kind" not in spec:
            raise MappingError(source, f"messages.{name}.kind", "missing required key")
        messages[name] = _convert(spec, MessageSpec, source, f"messages.{name}")
    mapping = Mapping(
        venue=raw.venue,
        numbers=raw.numbers,
        instruments=raw.instruments,
        subscribe=raw.subscribe,
        routing=raw.routing,
        messages=messages,
        csv=raw.csv,
    )
    _check_references(mapping, source)
    _check_paths(mapping, source)
    return mapping


def _check_references(mapping: Mapping, source: str) -> None:
    targets = set(mapping.messages) | {"ignore", "error"}
    for index, route in enumerate(mapping.routing.rules):
        for value, target in route.values.items():
            if target not in targets:
                key = f"routing.rules[{index}].values.{value}"
                raise MappingError(source, key, f"no message named {target!r}")
    if mapping.routing.default not in targets:
        raise MappingError(
            source, "routing.default", f"no message named {mapping.routing.default!r}"
        )
    for name, message in mapping.messages.items():
        if isinstance(message, BookMessage):
            for index, levels in enumerate(message.levels):
                if (levels.side is None) == (levels.side_field is None):
                    key = f"messages.{name}.levels[{index}]"
                    raise MappingError(source, key, "give exactly one of 'side' and 'side_field'")
            if message.sync.rule == "update_id_range" and not (
                message.sync.first_id and message.sync.last_id
            ):
                key = f"messages.{name}.sync"
                raise MappingError(source, key, "update_id_range needs first_id and last_id")
            if message.sync.rule == "prev_id_chain" and not (
                message.sync.prev_id and message.sync.last_id
            ):
                key = f"messages.{name}.sync"
                raise MappingError(source, key, "prev_id_chain needs prev_id and last_id")
            if message.sync.rule == "strict_increment" and not message.sync.last_id:
                key = f"messages.{name}.sync"
                raise MappingError(source, key, "strict_increment needs last_id")
            if message.snapshot.source == "rest" and not message.snapshot.url:
                raise MappingError(source, f"messages.{name}.snapshot.url", "rest needs a url")


def load_mapping(name_or_path: str | Path) -> Mapping:
    """Load ``ingest/mappings/<name>.toml`` by venue name, or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = MAPPINGS_DIR / f"{name_or_path}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(str(path), "", f"cannot read: {exc.strerror}") from None
    return loads_mapping(text, str(path))
