"""Compiling a :class:`~.schema.Mapping` into getters, a router and per-symbol scales.

Everything here runs once per decoder; the closures it returns run per message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.protocols.base import DecodeError

from .numbers import decimals_of
from .paths import MISSING, Getter, anchored, compile_path
from .schema import Field, FieldSpec, Mapping, Route

__all__ = ["Router", "Scales", "compile_field", "map_key"]


def map_key(value: Any) -> str:
    """The key a value is looked up by in a ``map`` or ``values`` table (TOML keys are strings)."""
    if type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def compile_field(
    field: Field | None, name: str, required: bool = True, scope: list[Any] | None = None
) -> Getter:
    """A getter for one field: the path, then ``map``, else ``default``; DecodeError when absent.

    ``name`` appears in the error (``missing field 'price'``) so dead letters say what was absent.
    ``scope`` is where an anchored path (``$.arg.instId``) is read from: the handler keeps the
    message being decoded in ``scope[0]``, and the getter ignores the value it is given (the
    root or the row). A mapping with an anchored path where no scope is given is refused at
    load (schema), so here it is a programming error.
    """
    if field is None:
        return _always_missing
    spec = FieldSpec(path=field) if isinstance(field, str) else field
    if spec.const is not None:
        constant = spec.const
        return lambda value: constant
    get = compile_path(spec.path)
    if anchored(spec.path)[0]:
        if scope is None:
            raise ValueError(f"{name}: a '$' path where the message is not in scope")
        get = _from_scope(get, scope)
    default = spec.default
    table = spec.map
    if not table and default is None and not required:
        return get
    if not table:
        if default is not None:

            def get_default(value: Any) -> Any:
                found = get(value)
                return default if found is MISSING else found

            return get_default

        def get_required(value: Any) -> Any:
            found = get(value)
            if found is MISSING:
                raise DecodeError("missing_field", name)
            return found

        return get_required

    def get_mapped(value: Any) -> Any:
        found = get(value)
        if found is MISSING:
            if default is not None:
                return default
            if required:
                raise DecodeError("missing_field", name)
            return MISSING
        mapped = table.get(map_key(found))
        if mapped is None:
            if default is not None:
                return default
            raise DecodeError("unmapped_value", f"{name}={found!r}")
        return mapped

    return get_mapped


def _from_scope(get: Getter, scope: list[Any]) -> Getter:
    def get_anchored(value: Any) -> Any:
        return get(scope[0])

    return get_anchored


def _always_missing(value: Any) -> Any:
    return MISSING


class Router:
    """Frame -> message name: the first rule whose path is present decides by dict lookup."""

    __slots__ = ("_default", "_rules")

    def __init__(self, rules: list[Route], default: str) -> None:
        self._rules: list[tuple[Getter, str, int, dict[str, str]]] = [
            (compile_path(rule.path), rule.split, rule.part, dict(rule.values)) for rule in rules
        ]
        self._default = default

    def __call__(self, frame: Any) -> str:
        for get, split, part, values in self._rules:
            found = get(frame)
            if found is MISSING:
                continue
            key = map_key(found)
            if split:
                parts = key.split(split)
                try:
                    key = parts[part]
                except IndexError:
                    continue
            target = values.get(key)
            if target is not None:
                return target
        return self._default


class Scales:
    """Per-symbol price and size decimals: the instrument's, the mapping's, or the feed's own.

    With ``auto`` the first value seen for a symbol fixes its scale (feeds that print a fixed
    number of decimals, like Binance and Kraken); a later value with more non-zero decimals is
    a DecodeError rather than a silent change of scale under a live book.
    """

    __slots__ = (
        "_by_symbol",
        "_default_price",
        "_default_size",
        "_instruments",
        "int_text",
        "learned",
        "scaled",
    )

    def __init__(self, mapping: Mapping, int_text: bool = False) -> None:
        numbers = mapping.numbers
        self.scaled = numbers.scaled
        #: Integer text counts as an integer for ``scaled`` (CSV cells: see ``numbers.scale``).
        self.int_text = int_text
        self._default_price = None if numbers.price_decimals == "auto" else numbers.price_decimals
        self._default_size = None if numbers.size_decimals == "auto" else numbers.size_decimals
        self._instruments = mapping.instruments
        self._by_symbol: dict[str, list[int | None]] = {}
        #: Decimals learnt from the message being decoded: undone if it is rejected, so a bad
        #: message never fixes a symbol's scale (the engine calls ``settle``).
        self.learned: list[tuple[list[int | None], int]] = []

    def get(self, symbol: str) -> list[int | None]:
        """``[price_decimals, size_decimals]`` for ``symbol``; ``None`` while still unknown."""
        found = self._by_symbol.get(symbol)
        if found is None:
            spec = self._instruments.get(symbol)
            price = spec.price_decimals if spec and spec.price_decimals is not None else None
            size = spec.size_decimals if spec and spec.size_decimals is not None else None
            found = [
                self._default_price if price is None else price,
                self._default_size if size is None else size,
            ]
            self._by_symbol[symbol] = found
        return found

    def learn(self, symbol: str, prices: list[Any], sizes: list[Any]) -> tuple[int, int]:
        """Fix still-unknown decimals from sample values (the widest one wins); return both."""
        found = self.get(symbol)
        if found[0] is None:
            found[0] = max((decimals_of(v) for v in prices), default=0)
            self.learned.append((found, 0))
        if found[1] is None:
            found[1] = max((decimals_of(v) for v in sizes), default=0)
            self.learned.append((found, 1))
        return found[0], found[1]  # type: ignore[return-value]

    def settle(self, keep: bool) -> None:
        """The message that learnt decimals is done: keep them, or (rejected) forget them."""
        if not keep:
            for found, index in self.learned:
                found[index] = None
        self.learned.clear()


Compiled = Callable[[Any], Any]
