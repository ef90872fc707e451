"""The market simulator: order-level, deterministic for a seed (``python -m ingest.simulator``)."""

from ingest.simulator.instruments import PRESETS, SymbolConfig, symbol_config
from ingest.simulator.market import Clock, MarketSimulator

__all__ = ["PRESETS", "Clock", "MarketSimulator", "SymbolConfig", "symbol_config"]
