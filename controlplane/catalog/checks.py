"""``check_*``: validate catalog input without writing. Errors name the field."""

from __future__ import annotations

from typing import Any

import msgspec

from pipelines.registry import (
    CALCULATORS,
    PROTOCOLS,
    RULES,
    SINKS,
    SOURCES,
    ParamsError,
    Registry,
    RegistryError,
)
from pipelines.spec import name_problem

__all__ = [
    "CatalogError",
    "check_name",
    "check_params",
    "check_protocol",
    "check_strings",
    "check_topics",
    "registry_for",
]


class CatalogError(ValueError):
    """Invalid catalog input; ``field`` is ``name``, ``kind``, ``params.<field>``, ..."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


_ENTRY_REGISTRIES: dict[str, tuple[Registry[Any], ...]] = {
    "source": (SOURCES,),
    "rule": (CALCULATORS, RULES),
    "target": (SINKS,),
}


def registry_for(entry: str, kind: str) -> Registry[Any]:
    """The registry that knows ``kind`` for a catalog entry type, or CatalogError on ``kind``."""
    registries = _ENTRY_REGISTRIES[entry]
    for registry in registries:
        if kind in registry:
            return registry
    known = sorted({k for registry in registries for k in registry})
    raise CatalogError("kind", f"unknown plugin {kind!r} (known: {', '.join(known) or 'none'})")


def check_name(model: type, name: str, instance_pk: int | None = None) -> str:
    if not isinstance(name, str):
        raise CatalogError("name", "Expected a string.")
    name = name.strip()
    if not name:
        raise CatalogError("name", "This field is required.")
    problem = name_problem(name)
    if problem is not None:
        raise CatalogError("name", problem)
    clash = model.objects.filter(name=name)  # type: ignore[attr-defined]
    if instance_pk is not None:
        clash = clash.exclude(pk=instance_pk)
    if clash.exists():
        raise CatalogError("name", f"{name!r} is already taken.")
    return name


def check_params(entry: str, kind: str, raw: Any) -> dict[str, Any]:
    """Validate with the plugin's Params; returns the params as plain JSON values."""
    registry = registry_for(entry, kind)
    if raw is not None and not isinstance(raw, dict):
        raise CatalogError("params", "Expected an object of parameters.")
    try:
        validated = registry.params(kind, raw or {}, strict=True)
    except ParamsError as exc:
        field = f"params.{exc.path}" if exc.path else "params"
        raise CatalogError(field, str(exc)) from None
    # Keep only what was given (coerced), so later changes to a plugin's defaults apply.
    full = msgspec.to_builtins(validated)
    return {key: full[key] for key in (raw or {}) if key in full}


def check_protocol(protocol: str) -> str:
    protocol = (protocol or "").strip()
    if protocol:
        try:
            PROTOCOLS.get(protocol)
        except RegistryError as exc:
            raise CatalogError("protocol", str(exc).strip("'\"")) from None
    return protocol


def check_strings(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(field, "Expected a list of non-empty strings.")
    return [v.strip() for v in value]


def check_topics(value: Any) -> list[str]:
    topics = check_strings("topics", value)
    for topic in topics:
        tokens = topic.split(".")
        if any(not t for t in tokens) or (">" in tokens[:-1]):
            raise CatalogError("topics", f"{topic!r} is not a valid topic pattern.")
    return topics
