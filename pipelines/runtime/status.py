"""The one-line status of ``python -m pipelines run``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipelines.runtime.pipeline import Pipeline
from pipelines.worker_status import FAILED_STATES, SourceStatus

__all__ = ["status_line"]

_PARAM_NAMES = re.compile(r"\w+=")


def status_line(
    pipeline: Pipeline,
    events_per_second: float,
    max_symbols: int = 8,
    ingest: Mapping[str, tuple[float, float]] | None = None,
    sources: Mapping[str, SourceStatus] | None = None,
) -> str:
    """``[run] 52,310 ev/s | 4 symbols | BTC-USD mid 64012.50 ema(10) 64010.22 | ...``

    ``ingest``: messages/s and bytes/s per source (``Worker.ingest_rates()``), appended as
    ``| feed 1,204 msg/s 312.5 kB/s``. ``sources``: ``Worker.source_status()``; a source that
    is not running says so, ``| feed FAILED (OSError: ...) retry 2 in 1.3 s``.
    """
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
    for source, (messages, received) in sorted((ingest or {}).items()):
        parts.append(f"{source} {messages:,.0f} msg/s {received / 1000:,.1f} kB/s")
    for source, status in sorted((sources or {}).items()):
        if status.state in ("running", "starting"):
            continue
        text = f"{source} {status.state.upper()}"
        if status.reason and status.state in FAILED_STATES:
            text += f" ({status.reason[:80]})"
        if status.state == "failed":
            text += f" retry {status.failures} in {status.retry_in:.1f} s"
        parts.append(text)
    return " | ".join(parts)
