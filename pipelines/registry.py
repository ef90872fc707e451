"""One registry per plugin kind.

A plugin is a class with a ``kind`` (its registered name) and a ``Params`` msgspec Struct that
declares its parameters with types, defaults and constraints. The control plane builds its forms,
API schemas and validation from ``Params``; nothing else keeps a copy of a plugin's field list.

Built-in plugins register on import of their module (the registries import the built-in modules
lazily, on first use). Third-party packages add plugins through the entry-point group
``tickerplant.<registry name>`` (e.g. ``tickerplant.sources``), whose value is the plugin class.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import msgspec

__all__ = [
    "CALCULATORS",
    "CONFIG_STORES",
    "PROTOCOLS",
    "RULES",
    "SINKS",
    "SOURCES",
    "ParamsError",
    "Plugin",
    "Registry",
    "RegistryError",
]


class Plugin(Protocol):
    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]


P = TypeVar("P", bound=type)


class RegistryError(LookupError):
    """An unknown or duplicate plugin name."""


class ParamsError(ValueError):
    """Parameters that do not fit a plugin's ``Params``; ``path`` names the offending field."""

    def __init__(self, plugin: str, message: str, path: str = "") -> None:
        self.plugin = plugin
        self.path = path
        super().__init__(f"{plugin}: {message}")


class Registry(Generic[P]):
    """Plugins of one kind by name; raises on duplicates and on unknown names."""

    def __init__(
        self,
        name: str,
        builtin_modules: tuple[str, ...] = (),
        builtin_kinds: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.entry_point_group = f"tickerplant.{name}"
        self._builtin_modules = builtin_modules
        # kind -> the module that registers it: get() of a built-in kind imports just that module
        # and skips the entry-point scan (importlib.metadata and the scan cost ~35 ms of a
        # replay's start-up). Listing, membership and unknown kinds still load everything.
        self._builtin_kinds = builtin_kinds or {}
        self._plugins: dict[str, P] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def register(self, plugin: P) -> P:
        """Register ``plugin`` under its ``kind``; usable as a class decorator."""
        kind = getattr(plugin, "kind", None)
        if not isinstance(kind, str) or not kind:
            raise RegistryError(f"{plugin!r} has no 'kind' name")
        params = getattr(plugin, "Params", None)
        if not (isinstance(params, type) and issubclass(params, msgspec.Struct)):
            raise RegistryError(f"{self.name} plugin {kind!r} has no msgspec 'Params' struct")
        with self._lock:
            existing = self._plugins.get(kind)
            if existing is not None and existing is not plugin:
                raise RegistryError(f"{self.name} plugin {kind!r} is registered twice")
            self._plugins[kind] = plugin
        return plugin

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module in self._builtin_modules:
                importlib.import_module(module)
            from importlib.metadata import entry_points  # ~15 ms of imports; needed only here

            for entry in entry_points(group=self.entry_point_group):
                plugin = entry.load()
                if self._plugins.get(getattr(plugin, "kind", "")) is not plugin:
                    self.register(plugin)

    def get(self, kind: str) -> P:
        if not self._loaded:
            module = self._builtin_kinds.get(kind)
            if module is not None:
                importlib.import_module(module)
                plugin = self._plugins.get(kind)
                if plugin is not None:
                    return plugin
        self._ensure_loaded()
        try:
            return self._plugins[kind]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise RegistryError(f"unknown {self.name} plugin {kind!r} (known: {known})") from None

    def __contains__(self, kind: object) -> bool:
        self._ensure_loaded()
        return kind in self._plugins

    def __iter__(self) -> Iterator[str]:
        self._ensure_loaded()
        return iter(sorted(self._plugins))

    def items(self) -> list[tuple[str, P]]:
        self._ensure_loaded()
        return sorted(self._plugins.items())

    def params(self, kind: str, raw: dict[str, Any] | msgspec.Struct | None) -> msgspec.Struct:
        """Validate ``raw`` against the plugin's ``Params``; unknown fields are errors."""
        params_type: type[msgspec.Struct] = self.get(kind).Params  # type: ignore[attr-defined]
        if isinstance(raw, params_type):
            return raw
        try:
            return msgspec.convert(raw or {}, params_type, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc)
            path = message.rsplit("at `$.", 1)[1].rstrip("`") if "at `$." in message else ""
            if not path and "unknown field `" in message:
                path = message.split("unknown field `", 1)[1].split("`", 1)[0]
            raise ParamsError(kind, message, path) from None

    def params_schema(self, kind: str) -> dict[str, Any]:
        """JSON Schema of a plugin's ``Params`` (for forms, the API and docs)."""
        params_type = self.get(kind).Params  # type: ignore[attr-defined]
        schema: dict[str, Any] = msgspec.json.schema(params_type)
        return schema


def _lazy(name: str, *modules: str, kinds: dict[str, str] | None = None) -> Registry[Any]:
    return Registry(name, modules, kinds)


SOURCES: Registry[Any] = _lazy("sources", "ingest.sources")
PROTOCOLS: Registry[Any] = _lazy(
    "protocols",
    "ingest.protocols.fix",
    "ingest.protocols.cme_mdp3",
    "ingest.protocols.mapped",
    kinds={
        "fix": "ingest.protocols.fix",
        "cme_mdp3": "ingest.protocols.cme_mdp3",
        "json": "ingest.protocols.mapped",
        "csv": "ingest.protocols.mapped",
    },
)
CALCULATORS: Registry[Any] = _lazy("calculators", "pipelines.core.calculators")
RULES: Registry[Any] = _lazy("rules", "pipelines.core.rules")
SINKS: Registry[Any] = _lazy("sinks", "pipelines.delivery")
CONFIG_STORES: Registry[Any] = _lazy("config_stores", "pipelines.config_stores")
