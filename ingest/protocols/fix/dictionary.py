"""QuickFIX XML data dictionaries, compiled to compact structures and cached on disk.

A QuickFIX dictionary names fields by name inside messages and components; the parser needs the
opposite: tag numbers, each repeating group's count tag, delimiter (its first field, after
expanding components) and member tags. :func:`load_dictionary` does that expansion once and
caches the result as msgpack next to nothing the project owns (``$TICKERPLANT_CACHE_DIR`` or
``~/.cache/tickerplant``), keyed by the files' paths, sizes and mtimes: the FIX 5.0SP2 XML takes
about a second to parse, the cache a few milliseconds, and process start-up counts.

Tags are kept as decimal strings (``"269"``), the form they have on the wire, so the hot path
never converts them to ``int``.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Final

import msgspec

__all__ = [
    "FieldDef",
    "FixDictionary",
    "GroupDef",
    "MessageDef",
    "builtin_dictionary",
    "load_dictionary",
]


def _tags(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Bumped whenever the compiled shape changes, so stale caches are ignored.
_CACHE_FORMAT: Final = 3


class FieldDef(msgspec.Struct, frozen=True):
    tag: str
    name: str
    type: str
    enums: dict[str, str] = {}


class GroupDef(msgspec.Struct, frozen=True):
    """A repeating group: ``count_tag`` (NoXXX), ``delimiter`` (first field of each entry)."""

    count_tag: str
    name: str
    delimiter: str
    members: frozenset[str]
    required: frozenset[str] = frozenset()
    groups: dict[str, GroupDef] = {}


class MessageDef(msgspec.Struct, frozen=True):
    """``strict_groups``: a tag outside a group's members always ends the group (the built-in
    dictionary's secdef groups, whose messages list no top-level members)."""

    msg_type: str
    name: str
    category: str
    members: frozenset[str]
    required: frozenset[str] = frozenset()
    groups: dict[str, GroupDef] = {}
    strict_groups: bool = False


class FixDictionary(msgspec.Struct, frozen=True, dict=True):
    """One FIX version: ``begin_string`` is ``FIX.4.4``, ``FIXT.1.1`` (with an application
    dictionary merged in: ``appl_ver_id`` set) or ``FIX.5.0SP2`` when loaded alone."""

    begin_string: str
    fields: dict[str, FieldDef]
    header: MessageDef
    trailer: MessageDef
    messages: dict[str, MessageDef]
    appl_ver_id: str = ""
    source: str = ""

    @functools.cached_property
    def header_tags(self) -> frozenset[str]:
        return self.header.members | self.trailer.members | _STANDARD_HEADER

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Field name → tag, e.g. ``names["MDEntryPx"] == "270"``."""
        return {field.name: tag for tag, field in self.fields.items()}


# Header and trailer tags every FIX version shares; used when a dictionary has an empty <header/>
# (FIX 5.0SP2 and the CME dictionary leave it to FIXT.1.1).
_STANDARD_HEADER: Final = _tags(
    "8 9 35 49 56 115 128 90 91 34 50 142 57 143 116 144 129 145 43 97 52 122 212 213 "
    "347 369 627 628 629 630 1128 1129 1156 10 93 89"
)

# ApplVerID (1128) values by the application dictionary's version.
_APPL_VER_IDS: Final = {
    "4.0": "2",
    "4.1": "3",
    "4.2": "4",
    "4.3": "5",
    "4.4": "6",
    "5.0": "7",
    "5.0SP1": "8",
    "5.0SP2": "9",
}


class _Compiler:
    """Expands components into groups and messages; names resolve through the <fields> table."""

    def __init__(self, root: ET.Element) -> None:
        self.fields: dict[str, FieldDef] = {}
        for field in root.iterfind("fields/field"):
            enums = {v.get("enum", ""): v.get("description", "") for v in field.iterfind("value")}
            tag = field.get("number", "")
            self.fields[tag] = FieldDef(tag, field.get("name", ""), field.get("type", ""), enums)
        self.by_name = {f.name: tag for tag, f in self.fields.items()}
        self.components = {c.get("name", ""): c for c in root.iterfind("components/component")}

    def _walk(
        self, node: ET.Element, depth: int = 0
    ) -> tuple[list[str], set[str], dict[str, GroupDef]]:
        """Ordered member tags, required tags and groups of a message/component/group body."""
        if depth > 50:
            raise ValueError("component nesting too deep (a cycle?)")
        order: list[str] = []
        required: set[str] = set()
        groups: dict[str, GroupDef] = {}
        for child in node:
            name = child.get("name", "")
            is_required = child.get("required", "N") == "Y"
            if child.tag == "field":
                tag = self.by_name.get(name)
                if tag is None:  # referenced but never defined (seen in patched venue dictionaries)
                    continue
                order.append(tag)
                if is_required:
                    required.add(tag)
            elif child.tag == "component":
                component = self.components.get(name)
                if component is None:
                    continue
                sub_order, sub_required, sub_groups = self._walk(component, depth + 1)
                order.extend(sub_order)
                if is_required:
                    required |= sub_required
                groups.update(sub_groups)
            elif child.tag == "group":
                tag = self.by_name.get(name)
                if tag is None:
                    continue
                group = self._group(child, tag, depth)
                if group is None:
                    continue
                order.append(tag)
                groups[tag] = group
                if is_required:
                    required.add(tag)
        return order, required, groups

    def _group(self, node: ET.Element, count_tag: str, depth: int) -> GroupDef | None:
        order, required, groups = self._walk(node, depth + 1)
        if not order:
            return None
        return GroupDef(
            count_tag, node.get("name", ""), order[0], frozenset(order), frozenset(required), groups
        )

    def message(
        self, node: ET.Element | None, msg_type: str = "", name: str = "", category: str = ""
    ) -> MessageDef:
        if node is None:
            return MessageDef(msg_type, name, category, frozenset())
        order, required, groups = self._walk(node)
        return MessageDef(msg_type, name, category, frozenset(order), frozenset(required), groups)


def _compile(path: Path) -> FixDictionary:
    root = ET.parse(path).getroot()
    compiler = _Compiler(root)
    kind = root.get("type", "FIX")
    major, minor = root.get("major", ""), root.get("minor", "")
    service_pack = root.get("servicepack", "0")
    version = f"{major}.{minor}" + (f"SP{service_pack}" if service_pack not in ("", "0") else "")
    messages = {}
    for node in root.iterfind("messages/message"):
        msg_type = node.get("msgtype", "")
        messages[msg_type] = compiler.message(
            node, msg_type, node.get("name", ""), node.get("msgcat", "")
        )
    return FixDictionary(
        begin_string=f"{kind}.{version}",
        fields=compiler.fields,
        header=compiler.message(root.find("header"), name="Header"),
        trailer=compiler.message(root.find("trailer"), name="Trailer"),
        messages=messages,
        appl_ver_id=_APPL_VER_IDS.get(version, "") if kind == "FIX" and major == "5" else "",
        source=str(path),
    )


def _merge(transport: FixDictionary, application: FixDictionary) -> FixDictionary:
    """FIXT.1.1 session dictionary + a FIX 5.x application dictionary = one lookup table."""
    return FixDictionary(
        begin_string=transport.begin_string,
        fields={**transport.fields, **application.fields},
        header=transport.header,
        trailer=transport.trailer,
        messages={**application.messages, **transport.messages},
        appl_ver_id=application.appl_ver_id,
        source=f"{transport.source}+{application.source}",
    )


def _cache_dir() -> Path:
    configured = os.environ.get("TICKERPLANT_CACHE_DIR")
    if configured:
        return Path(configured) / "fix"
    home = Path.home()
    base = home / ".cache" if os.access(home, os.W_OK) else Path(tempfile.gettempdir())
    return base / "tickerplant" / "fix"


def _cache_key(paths: tuple[Path, ...]) -> str:
    parts = [str(_CACHE_FORMAT)]
    for path in paths:
        stat = path.stat()
        parts.append(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


_cache_decoder: Final = msgspec.msgpack.Decoder(FixDictionary)
_cache_encoder: Final = msgspec.msgpack.Encoder()


def _decode_cache(data: bytes) -> FixDictionary:
    """The cached dictionary, decoded with the cyclic GC paused: its ~20,000 frozensets, dicts
    and Structs (FIX 4.4) would trigger several collections that find nothing (no cycles), which
    cost more than the decode itself (FIX 4.4: ~8 ms -> ~3 ms of the replay start-up)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _cache_decoder.decode(data)
    finally:
        if enabled:
            gc.enable()


@functools.lru_cache(maxsize=16)
def _load_cached(paths: tuple[Path, ...]) -> FixDictionary:
    cache_file = _cache_dir() / f"{_cache_key(paths)}.msgpack"
    try:
        return _decode_cache(cache_file.read_bytes())
    except (OSError, msgspec.DecodeError):
        pass
    compiled = [_compile(path) for path in paths]
    result = compiled[0] if len(compiled) == 1 else _merge(compiled[0], compiled[1])
    try:  # a read-only home or a full disk costs start-up time, never correctness
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(_cache_encoder.encode(result))
        os.replace(temporary, cache_file)
    except OSError:
        pass
    return result


def load_dictionary(
    path: str | os.PathLike[str], transport: str | os.PathLike[str] = ""
) -> FixDictionary:
    """Compile (or read from cache) the dictionary at ``path``.

    For FIX 5.x pass the FIXT.1.1 session dictionary as ``transport``; when ``path`` itself is a
    FIXT dictionary only session messages are known. Raises OSError or ValueError (bad XML).
    """
    paths = (Path(transport), Path(path)) if transport else (Path(path),)
    try:
        return _load_cached(paths)
    except ET.ParseError as exc:
        raise ValueError(f"{path}: not a QuickFIX XML dictionary ({exc})") from None


# ---------------------------------------------------------------------------------------------
# The built-in minimal dictionary: used when no dictionary is configured. It knows only the
# repeating groups the normalizer reads, with generous member sets, so W/X/d/f decode without XML.
# ---------------------------------------------------------------------------------------------
_MD_ENTRY_TAGS: Final = _tags(
    "269 278 270 271 272 273 274 275 276 277 279 280 281 282 283 284 285 286 287 288 289 "
    "290 291 292 299 336 625 326 327 346 387 423 451 58 15 40 59 126 110 18 1020 1023 1024 1025 "
    "1026 1027 1070 1093 1097 48 22 55 65 107 167 200 207 83 1173 1500 1501 5796 5797 6937 37 "
    "198 2446 60 1003 54 75 762 711 64 1128 1180 1181 1300 1301 9633"
)
_LEG_TAGS: Final = _tags(
    "600 601 602 603 604 605 606 607 608 609 610 611 612 613 614 615 616 617 618 619 620 "
    "621 622 623 624 556 740 739 955 956 1017 566 654 687 690"
)


def _group(count_tag: str, name: str, delimiter: str, members: frozenset[str]) -> GroupDef:
    return GroupDef(count_tag, name, delimiter, members | {delimiter})


@functools.cache
def builtin_dictionary() -> FixDictionary:
    entries_w = _group("268", "NoMDEntries", "269", _MD_ENTRY_TAGS)
    entries_x = _group("268", "NoMDEntries", "279", _MD_ENTRY_TAGS)
    secdef_groups = {
        "555": _group("555", "NoLegs", "600", _LEG_TAGS),
        "864": _group("864", "NoEvents", "865", frozenset({"866", "867", "868", "1145"})),
        "870": _group("870", "NoInstrAttrib", "871", frozenset({"872"})),
        "1141": _group("1141", "NoMDFeedTypes", "1022", frozenset({"264", "1021"})),
        "454": _group("454", "NoSecurityAltID", "455", frozenset({"456"})),
        "146": _group("146", "NoRelatedSym", "55", _MD_ENTRY_TAGS | {"55"}),
    }

    def message(msg_type: str, name: str, groups: dict[str, GroupDef]) -> MessageDef:
        # Market-data entries carry many venue tags: keep them in the entry until the trailer.
        # Security definitions have several groups with top-level fields between them.
        return MessageDef(
            msg_type,
            name,
            "app",
            frozenset(),
            frozenset(),
            groups,
            strict_groups=msg_type not in ("W", "X"),
        )

    return FixDictionary(
        begin_string="",
        fields={},
        header=MessageDef("", "Header", "", _STANDARD_HEADER),
        trailer=MessageDef("", "Trailer", "", frozenset({"10", "93", "89"})),
        messages={
            "W": message("W", "MarketDataSnapshotFullRefresh", {"268": entries_w}),
            "X": message("X", "MarketDataIncrementalRefresh", {"268": entries_x}),
            "d": message("d", "SecurityDefinition", secdef_groups),
            "f": message("f", "SecurityStatus", {}),
        },
        source="builtin",
    )
