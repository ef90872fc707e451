"""Reference data of simulated symbols: price scale, tick, lot and starting price."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

__all__ = ["PRESETS", "SymbolConfig", "symbol_config"]


class SymbolConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One simulated instrument; every price and size is an integer at its decimals."""

    symbol: str
    price_decimals: Annotated[int, Meta(ge=0, le=12)] = 2
    size_decimals: Annotated[int, Meta(ge=0, le=12)] = 0
    tick_size: Annotated[int, Meta(gt=0)] = 1
    start_price: Annotated[int, Meta(gt=0)] = 10_000
    lot: Annotated[int, Meta(gt=0)] = 1
    max_lots: Annotated[int, Meta(gt=0)] = 10


PRESETS: Final[dict[str, SymbolConfig]] = {
    c.symbol: c
    for c in (
        SymbolConfig(
            symbol="BTC-USD", size_decimals=4, tick_size=50, start_price=6_400_000, lot=10
        ),
        SymbolConfig(symbol="ETH-USD", size_decimals=3, start_price=340_000, lot=10),
        SymbolConfig(symbol="SOL-USD", size_decimals=2, start_price=15_000, lot=10),
        SymbolConfig(symbol="AAPL", start_price=19_000, lot=100),
    )
}


def symbol_config(symbol: str) -> SymbolConfig:
    """The preset for a known symbol, else a generic 100.00 instrument at 2 decimals."""
    return PRESETS.get(symbol) or SymbolConfig(symbol=symbol)
