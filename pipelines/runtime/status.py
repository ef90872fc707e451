"""The one-line status of ``python -m pipelines run``."""

from __future__ import annotations

import re

from pipelines.runtime.pipeline import Pipeline

__all__ = ["status_line"]

_PARAM_NAMES = re.compile(r"\w+=")


def status_line(pipeline: Pipeline, events_per_second: float, max_symbols: int = 8) -> str:
    """``[run] 52,310 ev/s | 4 symbols | BTC-USD mid 64012.50 ema(10) 64010.22 | ...``"""
    states = [
        (symbol, state)
        for symbols in pipeline.states.values()
        for symbol, state in sorted(symbols.items())
        if state is not None
    ]
    parts = [f"[run] {events_per_second:,.0f} ev/s", f"{len(states)} symbols"]
    for symbol, state in states[:max_symbols]:
        if state.mid is None:
            parts.append(f"{symbol} (no book yet)")
            continue
        decimals = state.book.price_decimals
        text = f"{symbol} mid {state.mid:.{decimals}f}"
        for name, _calc, description in state.mid_calcs + state.trade_calcs:
            value = state.values.get(name)
            if value is not None:
                text += f" {_PARAM_NAMES.sub('', description)} {value:.{decimals}f}"
        parts.append(text)
    if len(states) > max_symbols:
        parts.append(f"+{len(states) - max_symbols} more")
    return " | ".join(parts)
