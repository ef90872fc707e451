"""Subscribe templates: the WebSocket URL and the messages a source sends after connecting.

Placeholders (``{name}``, letters and underscores only, so JSON braces are left alone):
``{symbol}``, ``{symbol_lower}``, ``{symbol_upper}`` make a template per symbol;
``{symbols}`` (comma-joined), ``{symbols_json}`` (JSON array), ``{streams}`` (the expanded
``streams`` joined by ``stream_separator``), ``{streams_json}`` (JSON array) and ``{id}``
(1, 2, ... per message) expand once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final

from .schema import Subscribe

__all__ = ["PLACEHOLDERS", "SubscribeTemplates", "unknown_placeholders"]

_PLACEHOLDER: Final = re.compile(r"\{([a-z_]+)\}")
_PER_SYMBOL: Final = frozenset({"symbol", "symbol_lower", "symbol_upper"})
PLACEHOLDERS: Final = _PER_SYMBOL | {"symbols", "symbols_json", "streams", "streams_json", "id"}


def unknown_placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template)) - PLACEHOLDERS


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _per_symbol(template: str, symbols: Sequence[str], values: dict[str, str]) -> list[str]:
    if not set(_PLACEHOLDER.findall(template)) & _PER_SYMBOL:
        return [_fill(template, values)]
    return [
        _fill(
            template, {**values, "symbol": s, "symbol_lower": s.lower(), "symbol_upper": s.upper()}
        )
        for s in symbols
    ]


class SubscribeTemplates:
    def __init__(self, spec: Subscribe) -> None:
        self._spec = spec

    def _values(self, symbols: Sequence[str]) -> dict[str, str]:
        streams: list[str] = []
        for template in self._spec.streams:
            streams.extend(_per_symbol(template, symbols, {}))
        return {
            "symbols": ",".join(symbols),
            "symbols_json": json.dumps(list(symbols), separators=(",", ":")),
            "streams": self._spec.stream_separator.join(streams),
            "streams_json": json.dumps(streams, separators=(",", ":")),
        }

    def url(self, symbols: Sequence[str]) -> str:
        return _fill(self._spec.url, self._values(symbols))

    def messages(self, symbols: Sequence[str]) -> list[bytes]:
        values = self._values(symbols)
        out: list[bytes] = []
        for template in self._spec.messages:
            for text in _per_symbol(template, symbols, values):
                out.append(_fill(text, {"id": str(len(out) + 1)}).encode())
        return out
