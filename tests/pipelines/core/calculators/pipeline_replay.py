"""Replays the real captures and the simulator's flow through a Pipeline with every calculator
and every rule (all four actions), and prints a digest of everything published and of every
calculator value. Run as a script in a subprocess by test_compiled_pipeline.py, once compiled and
once with TICKERPLANT_PURE_PYTHON=1: the two digests must be equal."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import msgspec

from ingest.capture.ws_capture import decode_ws_captures
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from ingest.simulator import MarketSimulator
from pipelines import accel
from pipelines.core.rules import RuleSet
from pipelines.events import Event
from pipelines.registry import CALCULATORS
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import CalculatorEntry, Pipeline
from pipelines.spec import CalculatorSpec, RuleSpec

CALCULATORS_SPEC = {
    "ema": CalculatorSpec(kind="ema", params={"window": 20}),
    "ema_t": CalculatorSpec(kind="ema_time", params={"half_life": 0.5}),
    "sma": CalculatorSpec(kind="sma", params={"window": 50, "seconds": 2.0}),
    "z": CalculatorSpec(kind="zscore", params={"window": 30}),
    "vol": CalculatorSpec(kind="realized_vol", params={"seconds": 5.0, "annualize": True}),
    "ols": CalculatorSpec(kind="ols", params={"window": 100}),
    "beta": CalculatorSpec(kind="ols", params={"window": 40, "x": "trade"}),
    "vwap": CalculatorSpec(kind="vwap", params={"window": 25}),
    "mid2": CalculatorSpec(kind="mid"),
    "micro": CalculatorSpec(kind="microprice"),
    "bps": CalculatorSpec(kind="spread", params={"unit": "bps"}),
    "imb": CalculatorSpec(kind="imbalance", params={"levels": 5}),
}
RULES_SPEC = {
    "crossed": RuleSpec(kind="crossed_book", action="halt"),
    "wide": RuleSpec(kind="max_spread", action="alert", params={"max_bps": 5.0}),
    "band": RuleSpec(kind="price_band", action="tag", params={"input": "mid", "k": 2.0}),
    "band_t": RuleSpec(
        kind="price_band", action="drop", params={"band": "percent", "percent": 0.05}
    ),
    "spike": RuleSpec(kind="spike", action="alert", params={"metric": "volume", "threshold": 2.0}),
    "stale": RuleSpec(kind="stale_feed", action="alert", params={"max_silence_ms": 50}),
    "gaps": RuleSpec(kind="gap_rate", action="alert", params={"max_gaps": 0}),
}


class Collect:
    kind = "collect"

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, routed: list[tuple[str, Event]]) -> None:
        self.events.extend(event for _topic, event in routed)


def batches(data: Path) -> list[list[Event]]:
    out: list[list[Event]] = []
    ws = data / "ws"
    for stream, mapping, files in (
        ("binance", "binance_spot", [ws / "binance-spot" / "BINANCE.ws.1.0", ws / "binance-spot" / "BINANCE.http.0.0"]),
        ("kraken", "kraken", [ws / "kraken" / "KRAKEN.ws.50.0"]),
    ):  # fmt: skip
        if not all(path.is_file() for path in files):
            continue
        decoder = MappedJsonDecoder(stream, MappedParams(mapping=mapping))
        out.extend(decode_ws_captures(decoder, files))
    simulator = MarketSimulator(["BTC-USD", "ETH-USD"], seed=11)
    out.append(list(simulator.instruments()))
    for _ in range(4_000):
        out.append(list(simulator.next_message()))
    return out


def main() -> None:
    running = Pipeline(WorkerMetrics(), lambda stream, symbol: True)
    sink = Collect()
    running.sinks = {"collect": sink}  # type: ignore[dict-item]
    running.set_calculators(
        {
            name: CalculatorEntry(name, spec, CALCULATORS.params(spec.kind, spec.params))
            for name, spec in CALCULATORS_SPEC.items()
        }
    )
    running.set_rules(RuleSet.plan(RULES_SPEC))
    digest = hashlib.sha256()
    ticks = 0
    for i, batch in enumerate(batches(Path(sys.argv[1]))):
        running.process(batch)
        if i % 97 == 0 and batch:
            ticks += 1
            running.tick(getattr(batch[-1], "ts_recv", 0) + 60_000_000)
    for event in sink.events:
        digest.update(msgspec.msgpack.encode(event))
    values = {
        f"{stream}/{symbol}": sorted(state.values.items())
        for stream, symbols in running.states.items()
        for symbol, state in symbols.items()
        if state is not None
    }
    digest.update(repr(values).encode())
    rules = {name: (e.stats.evaluations, e.stats.hits) for name, e in running.rules.entries.items()}
    kinds: dict[str, int] = {}
    for event in sink.events:
        kinds[type(event).__name__] = kinds.get(type(event).__name__, 0) + 1
    print(
        json.dumps(
            {
                "digest": digest.hexdigest(),
                "events": len(sink.events),
                "kinds": kinds,
                "rules": rules,
                "ticks": ticks,
                "compiled": sorted(name for name, on in accel.loaded().items() if on),
            }
        )
    )


if __name__ == "__main__":
    main()
