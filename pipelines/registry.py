"""One registry per plugin kind.

A plugin is a class with a ``kind`` (its registered name) and a ``Params`` msgspec Struct that
declares its parameters with types, defaults and constraints. The control plane builds its forms,
API schemas and validation from ``Params``; nothing else keeps a copy of a plugin's field list.

The plugin base classes are generic in their params (``class Ema(Calculator[EmaParams])``), so a
plugin's code sees ``self.params`` typed and never narrows it. Typing alone cannot tie ``Params``
(a ClassVar) to that type argument, so :meth:`Registry.register` checks they agree; params reach a
plugin only through :meth:`Registry.params` of its own kind, and where plugins of many kinds are
held together (the pipeline's calculator and rule entries, the worker's sources) the holder checks
the params it is given with :meth:`Registry.check_params`.

Built-in plugins register on import of their module (the registries import the built-in modules
lazily, on first use). Third-party packages add plugins through the entry-point group
``tickerplant.<registry name>`` (e.g. ``tickerplant.sources``), whose value is the plugin class.
"""

from __future__ import annotations

import importlib
import threading
import typing
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
    "declared_params",
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


def declared_params(plugin: type) -> type[msgspec.Struct] | None:
    """The params struct a plugin class gives its generic base (``Calculator[EmaParams]``:
    ``EmaParams``; a subclass inherits its parent's), or None when it gives none."""
    for klass in plugin.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            for argument in typing.get_args(base):
                if isinstance(argument, type) and issubclass(argument, msgspec.Struct):
                    return argument
    return None


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
        self._loading = False
        self._lock = threading.RLock()

    def register(self, plugin: P) -> P:
        """Register ``plugin`` under its ``kind``; usable as a class decorator."""
        kind = getattr(plugin, "kind", None)
        if not isinstance(kind, str) or not kind:
            raise RegistryError(f"{plugin!r} has no 'kind' name")
        params = getattr(plugin, "Params", None)
        if not (isinstance(params, type) and issubclass(params, msgspec.Struct)):
            raise RegistryError(f"{self.name} plugin {kind!r} has no msgspec 'Params' struct")
        declared = declared_params(plugin)
        if declared is not None and not issubclass(params, declared):
            raise RegistryError(
                f"{self.name} plugin {kind!r}: Params is {params.__name__} but the class is "
                f"generic in {declared.__name__}"
            )
        with self._lock:
            existing = self._plugins.get(kind)
            if existing is not None and existing is not plugin:
                if _same_definition(existing, plugin):
                    # Its module's source run again beside its build (``accel.reference``): the
                    # registered class stays the plugin.
                    return plugin
                raise RegistryError(f"{self.name} plugin {kind!r} is registered twice")
            self._plugins[kind] = plugin
        return plugin

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            # Other threads wait on the lock until the plugins are all in; only this thread,
            # re-entering from a module it imports, may pass while loading is under way.
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                for module in self._builtin_modules:
                    importlib.import_module(module)
                from importlib.metadata import entry_points  # ~15 ms of imports; only here

                for entry in entry_points(group=self.entry_point_group):
                    plugin = entry.load()
                    if self._plugins.get(getattr(plugin, "kind", "")) is not plugin:
                        self.register(plugin)
                self._loaded = True
            finally:
                self._loading = False

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

    def _params_type(self, kind: str) -> type[msgspec.Struct]:
        """The plugin's ``Params`` struct."""
        params_type: type[msgspec.Struct] = self.get(kind).Params  # type: ignore[attr-defined]
        return params_type

    def params(
        self, kind: str, raw: dict[str, Any] | msgspec.Struct | None, *, strict: bool = False
    ) -> msgspec.Struct:
        """Validate ``raw`` against the plugin's ``Params``; unknown fields are errors.

        ``strict``: no coercion (``"1e3"`` is not a number, ``1`` not a boolean), for input from
        people (the config file, the catalog's forms and API); the lax default reads specs."""
        params_type = self._params_type(kind)
        if isinstance(raw, params_type):
            return raw
        try:
            return msgspec.convert(raw or {}, params_type, strict=strict)
        except msgspec.ValidationError as exc:
            message = str(exc)
            path = message.rsplit("at `$.", 1)[1].rstrip("`") if "at `$." in message else ""
            if not path and "unknown field `" in message:
                path = message.split("unknown field `", 1)[1].split("`", 1)[0]
            raise ParamsError(kind, message, path) from None

    def check_params(self, kind: str, params: msgspec.Struct) -> None:
        """Raise ParamsError unless ``params`` are an instance of plugin ``kind``'s ``Params``
        (what :meth:`params` returns): another plugin's struct would be read by this plugin's
        code field by field, rightly where two structs share a name, wrongly elsewhere."""
        params_type = self._params_type(kind)
        if not isinstance(params, params_type):
            raise ParamsError(
                kind, f"params are {type(params).__name__}, not {params_type.__name__}"
            )

    def params_schema(self, kind: str) -> dict[str, Any]:
        """JSON Schema of a plugin's ``Params`` (for forms, the API and docs)."""
        schema: dict[str, Any] = msgspec.json.schema(self._params_type(kind))
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


def _same_definition(a: object, b: object) -> bool:
    """Whether two classes are one definition imported twice (same module and name)."""
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    )
