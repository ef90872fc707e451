"""Hot reload in a running worker process: a new EMA window, a calculator and a rule added, another
calculator and another rule removed — same PID, no gap on the ring, and what comes after the switch
equals a fresh computation with the new parameters (where the method defines one)."""

from __future__ import annotations

import signal
import time
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from worker_process import attach, put, start_worker

from pipelines.events import Alert, Event, Metric, decode
from pipelines.spec import CalculatorSpec, PipelineSpec, RuleSpec, SinkSpec, SourceSpec

SOURCE = SourceSpec(
    kind="simulator", symbols=["BTC-USD", "ETH-USD"], params={"rate": 3_000, "seed": 7}
)
WIDE = {"max_bps": 1e-6}  # every book's spread is wider: the rule hits at every venue message


def before() -> PipelineSpec:
    return PipelineSpec(
        sources={"sim": SOURCE},
        calculators={
            "ema": CalculatorSpec(kind="ema", params={"window": 10}),
            "spread": CalculatorSpec(kind="spread", params={"unit": "bps"}),
        },
        rules={"wide_old": RuleSpec(kind="max_spread", params=WIDE, action="tag")},
        sinks={"ring": SinkSpec(kind="shm")},
    )


def after() -> PipelineSpec:
    return PipelineSpec(
        sources={"sim": SOURCE},
        calculators={
            "ema": CalculatorSpec(kind="ema", params={"window": 20}),
            "sma": CalculatorSpec(kind="sma", params={"window": 20}),
            "trend": CalculatorSpec(kind="ols", params={"window": 30}),
        },
        rules={"wide_new": RuleSpec(kind="max_spread", params=WIDE, action="tag")},
        sinks={"ring": SinkSpec(kind="shm")},
    )


def is_old(event: Event) -> bool:
    if isinstance(event, Metric):
        return event.source == "ema(window=10)" or event.name == "spread"
    return isinstance(event, Alert) and event.rule == "wide_old"


def is_new(event: Event) -> bool:
    if isinstance(event, Metric):
        return event.source == "ema(window=20)" or event.name in (
            "sma", "trend_slope", "trend_intercept", "trend_r2",
        )  # fmt: skip
    return isinstance(event, Alert) and event.rule == "wide_new"


@pytest.mark.timeout(90)
def test_new_calculators_and_rules_swap_in_without_restart_gap_or_stale_state(
    tmp_path: Path,
) -> None:
    store_url = f"file://{tmp_path}/spec.json"
    prefix = f"tp-test-reload-{uuid.uuid4().hex[:10]}"
    put(store_url, before(), expected_version=0)
    proc = start_worker(store_url, prefix)
    ring_seqs: list[int] = []
    events: list[Event] = []
    try:
        reader = attach(prefix, proc)
        pid = reader.writer_pid
        assert pid == proc.pid

        def read(until, timeout: float) -> None:  # type: ignore[no-untyped-def]
            deadline = time.monotonic() + timeout
            while not until() and time.monotonic() < deadline:
                for seq, _topic, payload in reader.poll(4096):
                    ring_seqs.append(seq)
                    events.append(decode(payload))
                time.sleep(0.002)

        read(lambda: sum(map(is_old, events)) >= 200, timeout=20)
        put(store_url, after(), expected_version=1)
        sma_count = lambda: sum(isinstance(e, Metric) and e.name == "sma" for e in events)  # noqa: E731
        read(lambda: sma_count() >= 120, timeout=30)
        assert sma_count() >= 120, "too few outputs after the switch"
        assert proc.poll() is None and reader.writer_pid == pid == proc.pid  # same process
        assert reader.overruns == 0
        reader.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0

    # No gap: every record the worker wrote since we attached, in order.
    assert ring_seqs == list(range(ring_seqs[0], ring_seqs[0] + len(ring_seqs)))
    # One switch between two batches: nothing of the old spec after anything of the new one.
    last_old = max(i for i, e in enumerate(events) if is_old(e))
    first_new = min(i for i, e in enumerate(events) if is_new(e))
    assert last_old < first_new
    assert any(isinstance(e, Alert) and e.rule == "wide_new" for e in events[first_new:])

    by_symbol: dict[str, list[Metric]] = defaultdict(list)
    for event in events:
        if isinstance(event, Metric):
            by_symbol[event.symbol].append(event)
    for symbol, metrics in by_symbol.items():
        check_symbol(symbol, metrics)


def check_symbol(symbol: str, metrics: list[Metric]) -> None:
    mids: list[Metric] = []  # the inputs, in order
    ema_prev: float | None = None
    after_switch: list[Metric] = []  # the mids fed since the new calculators exist
    emas_checked = smas_checked = trends_checked = 0
    for metric in metrics:
        if metric.name == "mid" and metric.source == "book":
            mids.append(metric)
            continue
        assert mids and mids[-1].seq == metric.seq, "a calculator's output follows its input"
        mid = mids[-1]
        if metric.name == "ema":
            if metric.source == "ema(window=20)":
                # The EMA keeps its value across the switch; every step after uses alpha = 2/21.
                assert ema_prev is not None
                want = ema_prev + 2 / 21 * (mid.value - ema_prev)
                assert metric.value == pytest.approx(want, rel=1e-12)
                emas_checked += 1
            ema_prev = metric.value
        elif metric.name == "sma":
            if not after_switch or after_switch[-1] is not mid:
                after_switch.append(mid)
            # A fresh SMA over the values it saw: the mean of the last min(k, 20) of them.
            window = np.array([m.value for m in after_switch[-20:]])
            assert metric.value == pytest.approx(window.mean(), rel=1e-12)
            smas_checked += len(after_switch) >= 20
        elif metric.name in ("trend_slope", "trend_intercept", "trend_r2"):
            if not after_switch or after_switch[-1] is not mid:
                after_switch.append(mid)
            points = after_switch[-30:]
            ts = np.array([m.ts_recv for m in points], dtype=np.int64)
            x = (ts - ts[-1]) / 1e9
            y = np.array([m.value for m in points])
            dx, dy = x - x.mean(), y - y.mean()  # two-pass least squares, centred
            slope = dx @ dy / (dx @ dx) if np.ptp(y) > 0 else 0.0
            want = {
                "trend_slope": slope,
                "trend_intercept": y.mean() - slope * x.mean(),  # the line now (x = 0)
                "trend_r2": (dx @ dy) ** 2 / ((dx @ dx) * (dy @ dy)) if np.ptp(y) > 0 else 1.0,
            }[metric.name]
            assert metric.value == pytest.approx(want, rel=1e-6, abs=1e-9), metric.name
            trends_checked += metric.name == "trend_slope" and len(after_switch) >= 30
    assert emas_checked >= 50 and smas_checked >= 20 and trends_checked >= 20, symbol
