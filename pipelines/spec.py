"""PipelineSpec: the versioned, validated document a worker runs from.

The control plane compiles it from its database; ``python -m pipelines run`` loads it from
``config.toml`` (:mod:`pipelines.config_file`). Structural checks come from the structs below
(unknown fields are errors); :func:`validate` then checks every plugin name and its parameters
against the registries, so a spec that validates is one a worker can start.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

import crc32c
import msgspec
from msgspec import Meta

from pipelines.registry import (
    CALCULATORS,
    RULES,
    SINKS,
    SOURCES,
    ParamsError,
    Registry,
    RegistryError,
)

__all__ = [
    "NAME_CHARACTERS",
    "NAME_MAX_LENGTH",
    "NAME_PATTERN",
    "NAME_RULE",
    "CalculatorSpec",
    "PipelineSpec",
    "RuleSpec",
    "ShardMap",
    "SinkSpec",
    "SourceSpec",
    "SpecError",
    "StorageSpec",
    "decode_spec",
    "encode_spec",
    "name_problem",
    "shard_of",
    "validate",
]

# The one definition of a valid name of a source, calculator, rule, sink or storage: the spec's
# keys, used as topic tokens and stream ids. The config loader, the catalog's models, forms and
# API all take it from here.
NAME_CHARACTERS: Final = r"[A-Za-z0-9_.\-]"
NAME_PATTERN: Final = rf"^{NAME_CHARACTERS}+$"
NAME_MAX_LENGTH: Final = 100
NAME_RULE: Final = "Use letters, digits, '_', '-' and '.' only."
Name = Annotated[str, Meta(min_length=1, max_length=NAME_MAX_LENGTH, pattern=NAME_PATTERN)]


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "A name is required."
    if len(name) > NAME_MAX_LENGTH:
        return f"At most {NAME_MAX_LENGTH} characters."
    if re.fullmatch(NAME_PATTERN, name) is None:
        return NAME_RULE
    return None


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class SourceSpec(_Spec, frozen=True):
    kind: str
    """Source plugin: simulator, websocket, tcp, udp, replay..."""
    protocol: str = ""
    """Protocol plugin decoding the source's bytes; empty for sources that emit events."""
    endpoint: str = ""
    mapping: str = ""
    symbols: list[str] = []
    fields: list[str] = []
    """Normalized fields kept; empty keeps all."""
    params: dict[str, Any] = {}
    enabled: bool = True


class CalculatorSpec(_Spec, frozen=True):
    kind: str
    params: dict[str, Any] = {}
    symbols: list[str] = []
    """Symbols it runs on; empty means every symbol."""
    enabled: bool = True


class RuleSpec(_Spec, frozen=True):
    kind: str
    params: dict[str, Any] = {}
    action: Literal["tag", "drop", "alert", "halt"] = "alert"
    symbols: list[str] = []
    enabled: bool = True


class SinkSpec(_Spec, frozen=True):
    kind: str
    params: dict[str, Any] = {}
    topics: list[str] = msgspec.field(default_factory=lambda: [">"])
    enabled: bool = True


class StorageSpec(_Spec, frozen=True):
    kind: str
    params: dict[str, Any] = {}
    enabled: bool = True


class ShardMap(_Spec, frozen=True):
    count: Annotated[int, Meta(ge=1, le=4096)] = 1
    assignment: dict[str, list[int]] = {}
    """Worker index (as a string) -> shards it owns; empty: shard k goes to worker k % workers."""

    def shards_for(self, worker_index: int, worker_count: int) -> frozenset[int]:
        if self.assignment:
            return frozenset(self.assignment.get(str(worker_index), ()))
        return frozenset(k for k in range(self.count) if k % worker_count == worker_index)


class PipelineSpec(_Spec, frozen=True):
    version: Annotated[int, Meta(ge=0)] = 0
    sources: dict[Name, SourceSpec] = {}
    calculators: dict[Name, CalculatorSpec] = {}
    rules: dict[Name, RuleSpec] = {}
    storage: dict[Name, StorageSpec] = {}
    sinks: dict[Name, SinkSpec] = {}
    shards: ShardMap = ShardMap()


class SpecError(ValueError):
    """An invalid spec; ``path`` names the offending key (``sources.feed.params.rate``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


_SECTIONS: Final[tuple[tuple[str, Registry[Any]], ...]] = (
    ("sources", SOURCES),
    ("calculators", CALCULATORS),
    ("rules", RULES),
    ("sinks", SINKS),
)


def validate(spec: PipelineSpec) -> PipelineSpec:
    """Check every plugin name and its params; returns ``spec`` or raises :class:`SpecError`."""
    for section, registry in _SECTIONS:
        for name, entry in getattr(spec, section).items():
            path = f"{section}.{name}"
            try:
                registry.params(entry.kind, entry.params)
            except RegistryError as exc:
                raise SpecError(f"{path}.kind", str(exc).strip("'\"")) from None
            except ParamsError as exc:
                field = f".{exc.path}" if exc.path else ""
                raise SpecError(f"{path}.params{field}", str(exc)) from None
    return spec


_json_encoder: Final = msgspec.json.Encoder(order="deterministic")


def encode_spec(spec: PipelineSpec) -> bytes:
    return _json_encoder.encode(spec)


def decode_spec(data: bytes | str) -> PipelineSpec:
    """Parse and validate a JSON spec; structural errors name the JSON path."""
    try:
        spec = msgspec.json.decode(data, type=PipelineSpec)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rsplit("at `$.", 1)[1].rstrip("`") if "at `$." in message else ""
        raise SpecError(path, message) from None
    except msgspec.DecodeError as exc:
        raise SpecError("", f"not a JSON spec: {exc}") from None
    return validate(spec)


def shard_of(stream: str, symbol: str, count: int) -> int:
    """The default shard of a (stream, symbol): stable across processes and machines."""
    if count == 1:
        return 0
    return crc32c.crc32c(f"{stream}\0{symbol}".encode()) % count
