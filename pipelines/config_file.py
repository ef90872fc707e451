"""``config.toml`` -> :class:`~pipelines.spec.PipelineSpec`.

The format is the seed's (``../shared/SEED.md``), which loads exactly as written, plus a few
extensions. Top-level tables:

- ``[data_sources]``: sources as nested tables (``[data_sources.feed]``); in the seed's flat form,
  any top-level table *after* ``[data_sources]`` that carries a ``type`` is a source too. A source's
  keys: ``type`` (source plugin), ``endpoint``, ``data_format`` or ``protocol``, ``mapping``,
  ``symbols``, ``fields`` (normalized fields kept; ``volume`` means ``size``), ``enabled``; any
  other key is a parameter of the source plugin, checked against its ``Params``.
- ``[processing]``: ``ema_window`` (an EMA calculator named ``ema``), ``use_mock_data`` (swap every
  source for the simulator), ``[processing.calculators.<name>]`` and ``[processing.rules.<name>]``
  with ``kind`` and their plugin's parameters (``symbols`` and, for rules, ``action`` too).
- ``[delivery]``: ``method`` (``pubsub``, ``shm``) and ``target`` (``redis://...``); or named sinks
  as ``[delivery.<name>]`` tables with ``kind`` and the sink plugin's parameters.
- ``[shards]``: ``count``.

Every error is one :class:`ConfigError` naming the key and, where the file shows it, the line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Final

from pipelines.registry import (
    CALCULATORS,
    RULES,
    SINKS,
    SOURCES,
    ParamsError,
    Registry,
    RegistryError,
)
from pipelines.spec import (
    CalculatorSpec,
    PipelineSpec,
    RuleSpec,
    ShardMap,
    SinkSpec,
    SourceSpec,
    name_problem,
)

__all__ = ["FIELDS", "ConfigError", "load_config", "loads_config"]

# The normalized fields a source may keep (``fields``); ``volume`` is the seed's word for ``size``.
FIELDS: Final = frozenset(
    {
        "symbol",
        "price",
        "size",
        "side",
        "bid_price",
        "bid_size",
        "ask_price",
        "ask_size",
        "ts_exchange",
        "ts_recv",
        "venue_seq",
        "trade_id",
        "order_id",
        "level",
        "action",
    }
)
_FIELD_ALIASES: Final = {"volume": "size", "qty": "size", "quantity": "size"}
_PROTOCOL_ALIASES: Final = {"fix": "fix", "sbe": "sbe", "json": "json", "csv": "csv"}
_TOP_LEVEL: Final = ("data_sources", "processing", "delivery", "shards")
_SOURCE_KEYS: Final = frozenset(
    {"type", "endpoint", "data_format", "protocol", "mapping", "symbols", "fields", "enabled"}
)
_PROCESSING_KEYS: Final = frozenset({"ema_window", "use_mock_data", "calculators", "rules"})
_DELIVERY_METHODS: Final = {
    "pubsub": None,
    "shm": "shm",
    "sharedmemory": "shm",
    "shared_memory": "shm",
}
_PUBSUB_SCHEMES: Final = {"redis": "redis", "rediss": "redis", "nats": "nats"}


class ConfigError(ValueError):
    """One message naming the file, line (where known) and key."""

    def __init__(self, filename: str, key: str, message: str, line: int | None = None) -> None:
        self.filename = filename
        self.key = key
        self.line = line
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class _Loader:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.lines = text.splitlines()

    def error(self, table: str, key: str, message: str) -> ConfigError:
        full = f"{table}.{key}" if table and key else table or key
        return ConfigError(self.filename, full, message, self._line_of(table, key))

    def _line_of(self, table: str, key: str) -> int | None:
        """The line of ``key`` inside ``[table]`` (or of the table header): a best effort."""
        current = ""
        header_line = None
        for number, raw in enumerate(self.lines, start=1):
            line = raw.strip()
            header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
            if header:
                current = re.sub(r"\s*\.\s*", ".", header.group(1)).replace('"', "")
                if key and current == (f"{table}.{key}" if table else key):
                    return number  # the key is itself a table
                if current == table:
                    header_line = number
                    if not key:
                        return number
                continue
            if key and current == table and re.match(rf'^"?{re.escape(key)}"?\s*=', line):
                return number
        return header_line

    def check_type(
        self, table: str, key: str, value: Any, expected: type | tuple[type, ...]
    ) -> Any:
        if isinstance(value, bool) and expected is not bool and bool not in _as_tuple(expected):
            raise self.error(table, key, f"expected {_type_name(expected)}, got a boolean")
        if not isinstance(value, expected):
            raise self.error(table, key, f"expected {_type_name(expected)}, got {value!r}")
        return value

    def check_name(self, table: str, name: str) -> None:
        """The spec's one rule for names (``pipelines.spec.name_problem``)."""
        problem = name_problem(name)
        if problem is not None:
            raise self.error(table, name, f"not a valid name: {problem}")

    def check_params(
        self, registry: Registry[Any], table: str, kind: str, params: dict[str, Any]
    ) -> None:
        if "params" in params and isinstance(params["params"], dict):
            raise self.error(
                table,
                "params",
                "a plugin's parameters are keys of the table itself, not a params = {...} table",
            )
        try:
            registry.params(kind, params, strict=True)
        except RegistryError as exc:
            raise self.error(
                table, "kind" if "kind" in self._keys(table) else "type", str(exc).strip("\"'")
            ) from None
        except ParamsError as exc:
            key = exc.path.split(".", 1)[0].split("[", 1)[0]
            raise self.error(table, key, str(exc)) from None

    def _keys(self, table: str) -> set[str]:
        current, keys = "", set()
        for raw in self.lines:
            line = raw.strip()
            header = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
            if header:
                current = header.group(1)
            elif current == table and "=" in line:
                keys.add(line.split("=", 1)[0].strip().strip('"'))
        return keys

    def load(self) -> PipelineSpec:
        try:
            document = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"\(at line (\d+)", str(exc))
            raise ConfigError(
                self.filename, "", f"not valid TOML: {exc}", int(match.group(1)) if match else None
            ) from None

        sources: dict[str, SourceSpec] = {}
        source_paths: dict[str, str] = {}
        seen_data_sources = False
        for name, value in document.items():
            if name == "data_sources":
                seen_data_sources = True
                self.check_type("", name, value, dict)
                for source_name, table in value.items():
                    self.check_name("data_sources", source_name)
                    path = f"data_sources.{source_name}"
                    if not isinstance(table, dict):
                        raise self.error(
                            "data_sources", source_name, "expected a table of source settings"
                        )
                    sources[source_name] = self.source(path, table)
                    source_paths[source_name] = path
            elif name in _TOP_LEVEL:
                continue
            elif seen_data_sources and isinstance(value, dict) and "type" in value:
                if name in sources:
                    raise self.error(name, "", "a source of this name is defined twice")
                self.check_name("", name)
                sources[name] = self.source(name, value)
                source_paths[name] = name
            else:
                known = ", ".join(f"[{t}]" for t in _TOP_LEVEL)
                hint = (
                    " (a source table needs a 'type' and must follow [data_sources])"
                    if isinstance(value, dict)
                    else ""
                )
                raise self.error("", name, f"unknown key; expected one of {known}{hint}")

        processing = document.get("processing", {})
        self.check_type("", "processing", processing, dict)
        for key in processing:
            if key not in _PROCESSING_KEYS:
                raise self.error(
                    "processing",
                    key,
                    f"unknown key; expected one of {', '.join(sorted(_PROCESSING_KEYS))}",
                )
        if self.check_type(
            "processing", "use_mock_data", processing.get("use_mock_data", False), bool
        ):
            # Checked after the swap, so the seed's websocket example loads as the simulator.
            sources = _mock(sources)
        for name, source in sources.items():
            self.check_params(
                SOURCES, source_paths.get(name, "data_sources"), source.kind, source.params
            )
        calculators = self.calculators(processing)
        rules = self.rules(processing)
        sinks = self.sinks(document.get("delivery", {}))
        shards = self.shards(document.get("shards", {}))
        return PipelineSpec(
            sources=sources, calculators=calculators, rules=rules, sinks=sinks, shards=shards
        )

    def source(self, path: str, table: dict[str, Any]) -> SourceSpec:
        if "type" not in table:
            raise self.error(
                path, "type", 'missing required key (the source plugin, e.g. "simulator")'
            )
        kind = self.check_type(path, "type", table["type"], str)
        protocol_key = "data_format" if "data_format" in table else "protocol"
        protocol = self.check_type(path, protocol_key, table.get(protocol_key, ""), str)
        if protocol:
            protocol = _PROTOCOL_ALIASES.get(protocol.lower(), protocol.lower())
        fields = []
        for field in self.check_type(path, "fields", table.get("fields", []), list):
            field = _FIELD_ALIASES.get(field, field) if isinstance(field, str) else field
            if field not in FIELDS:
                raise self.error(
                    path, "fields", f"unknown field {field!r}; known: {', '.join(sorted(FIELDS))}"
                )
            fields.append(field)
        symbols = self.check_type(path, "symbols", table.get("symbols", []), list)
        if not all(isinstance(s, str) and s for s in symbols):
            raise self.error(path, "symbols", "expected a list of symbol strings")
        params = {k: v for k, v in table.items() if k not in _SOURCE_KEYS}
        return SourceSpec(
            kind=kind,
            protocol=protocol,
            endpoint=self.check_type(path, "endpoint", table.get("endpoint", ""), str),
            mapping=self.check_type(path, "mapping", table.get("mapping", ""), str),
            symbols=symbols,
            fields=fields,
            params=params,
            enabled=self.check_type(path, "enabled", table.get("enabled", True), bool),
        )

    def calculators(self, processing: dict[str, Any]) -> dict[str, CalculatorSpec]:
        out: dict[str, CalculatorSpec] = {}
        if "ema_window" in processing:
            window = self.check_type("processing", "ema_window", processing["ema_window"], int)
            if window <= 0:
                raise self.error(
                    "processing", "ema_window", f"expected an integer > 0, got {window}"
                )
            out["ema"] = CalculatorSpec(kind="ema", params={"window": window})
            self.check_params(CALCULATORS, "processing", "ema", {"window": window})
        tables = self.check_type(
            "processing", "calculators", processing.get("calculators", {}), dict
        )
        for name, table in tables.items():
            self.check_name("processing.calculators", name)
            path = f"processing.calculators.{name}"
            kind, params, symbols = self._plugin_table(path, table)
            self.check_params(CALCULATORS, path, kind, params)
            out[name] = CalculatorSpec(kind=kind, params=params, symbols=symbols)
        return out

    def rules(self, processing: dict[str, Any]) -> dict[str, RuleSpec]:
        out: dict[str, RuleSpec] = {}
        tables = self.check_type("processing", "rules", processing.get("rules", {}), dict)
        for name, table in tables.items():
            self.check_name("processing.rules", name)
            path = f"processing.rules.{name}"
            action = table.pop("action", "alert") if isinstance(table, dict) else "alert"
            if action not in ("tag", "drop", "alert", "halt"):
                raise self.error(
                    path, "action", f"expected one of tag, drop, alert, halt; got {action!r}"
                )
            kind, params, symbols = self._plugin_table(path, table)
            self.check_params(RULES, path, kind, params)
            out[name] = RuleSpec(
                kind=kind,
                params=params,
                action=action,  # type: ignore[arg-type]  # checked against the Literal above
                symbols=symbols,
            )
        return out

    def _plugin_table(self, path: str, table: Any) -> tuple[str, dict[str, Any], list[str]]:
        if not isinstance(table, dict):
            raise self.error(path.rsplit(".", 1)[0], path.rsplit(".", 1)[1], "expected a table")
        if "kind" not in table:
            raise self.error(path, "kind", "missing required key")
        kind = self.check_type(path, "kind", table["kind"], str)
        symbols = self.check_type(path, "symbols", table.get("symbols", []), list)
        params = {k: v for k, v in table.items() if k not in ("kind", "symbols")}
        return kind, params, symbols

    def sinks(self, delivery: Any) -> dict[str, SinkSpec]:
        self.check_type("", "delivery", delivery, dict)
        out: dict[str, SinkSpec] = {}
        shorthand = {k: v for k, v in delivery.items() if not isinstance(v, dict)}
        if shorthand:
            if "method" not in shorthand:
                raise self.error("delivery", "method", "missing required key (pubsub or shm)")
            method = self.check_type("delivery", "method", shorthand.pop("method"), str).lower()
            if method not in _DELIVERY_METHODS:
                raise self.error(
                    "delivery", "method", f"expected one of pubsub, shm; got {method!r}"
                )
            target = self.check_type("delivery", "target", shorthand.pop("target", ""), str)
            kind = _DELIVERY_METHODS[method]
            params = dict(shorthand)
            if kind is None:
                scheme = target.split("://", 1)[0].lower() if "://" in target else ""
                if scheme not in _PUBSUB_SCHEMES:
                    raise self.error(
                        "delivery",
                        "target",
                        f"pubsub needs a redis:// or nats:// target, got {target!r}",
                    )
                kind = _PUBSUB_SCHEMES[scheme]
                params["url"] = target
            elif target:
                params["prefix"] = target
            self.check_params(SINKS, "delivery", kind, params)
            out[method if method != "shm" else "shm"] = SinkSpec(kind=kind, params=params)
        for name, table in delivery.items():
            if not isinstance(table, dict):
                continue
            self.check_name("delivery", name)
            path = f"delivery.{name}"
            kind, params, _ = self._plugin_table(path, table)
            topics = params.pop("topics", [">"])
            self.check_params(SINKS, path, kind, params)
            out[name] = SinkSpec(kind=kind, params=params, topics=topics)
        return out

    def shards(self, table: Any) -> ShardMap:
        self.check_type("", "shards", table, dict)
        for key in table:
            if key != "count":
                raise self.error("shards", key, "unknown key; expected count")
        count = self.check_type("shards", "count", table.get("count", 1), int)
        if not 1 <= count <= 4096:
            raise self.error("shards", "count", f"expected 1..4096, got {count}")
        return ShardMap(count=count)


def _mock(sources: dict[str, SourceSpec]) -> dict[str, SourceSpec]:
    """``use_mock_data``: every source becomes the simulator, keeping its name and symbols."""
    if not sources:
        return {"sim": SourceSpec(kind="simulator")}
    return {
        name: spec
        if spec.kind == "simulator"
        else SourceSpec(kind="simulator", symbols=spec.symbols, fields=spec.fields)
        for name, spec in sources.items()
    }


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {
        int: "an integer",
        str: "a string",
        bool: "true or false",
        list: "a list",
        dict: "a table",
        float: "a number",
    }
    return " or ".join(names.get(t, t.__name__) for t in _as_tuple(expected))


def loads_config(text: str, filename: str = "config.toml") -> PipelineSpec:
    return _Loader(text, filename).load()


def load_config(path: str | Path) -> PipelineSpec:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            str(path),
            "",
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "(TOML files are UTF-8; re-save the file as UTF-8)",
            line,
        ) from None
    return loads_config(text, str(path))
