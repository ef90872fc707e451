"""Instructions per event of the hot path, counted by valgrind (callgrind), in two checkouts.

Wall-clock figures on a shared machine move by 10 % between two runs of the same code; an
instruction count does not depend on the load. Each workload runs twice under callgrind with
different amounts of work (with ``PYTHONHASHSEED=0`` and one BLAS thread: see DETERMINISTIC), and
the difference of the two totals divided by the extra events is the cost per event, imports and
set-up cancelled out:

- ``calc:<kind>``: one calculator (``sma``, ``zscore``, ``ols``, ``vwap``, ``ema``) fed 20,000
  vs 40,000 values of a random walk through the bound method the pipeline calls (the Python loop
  around it included; the garbage collector off, whose cost depends on all else in the heap);
- ``pipeline:<config>:<workload>``: one ``bench_pipeline`` configuration (``books``, ``full``) on
  a workload (``kraken``, ``binance``, ``simulator``) for 1 vs 3 passes.

    .venv/bin/python -m bench.bench_instructions [--repo /path/to/other/checkout] [WORKLOAD ...]

With ``--repo``, every workload runs in that checkout too (its own code and build, this venv),
and the table shows both with their ratio. valgrind is slow: a pipeline workload takes minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = ["calc:sma", "calc:zscore", "calc:ols", "pipeline:full:kraken"]
# Counts repeat to a few instructions per event only with these: string hashes fixed, and no
# BLAS worker threads (numpy's OpenBLAS threads spin-wait: +-1,000 instructions per update).
DETERMINISTIC = {
    "PYTHONHASHSEED": "0",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

CALCULATOR = """
import gc
import sys
sys.path.insert(0, ".")
import numpy as np
from pipelines.core import calculators as c
kind, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
total = 40_000
prices = (64_000 + np.cumsum(rng.normal(0, 0.5, total))).tolist()
ts = (1_700_000_000_000_000_000 + np.cumsum(rng.exponential(1e6, total).astype(np.int64))).tolist()
sizes = (rng.integers(1, 10_000, total) / 1e4).tolist()
make = {
    "ema": lambda: c.Ema(c.EmaParams(window=100)),
    "sma": lambda: c.Sma(c.SmaParams(window=100)),
    "zscore": lambda: c.ZScore(c.ZScoreParams(window=100)),
    "ols": lambda: c.Ols(c.OlsParams(window=100)),
    "vwap": lambda: c.Vwap(c.VwapParams(window=100)),
}[kind]
feed = make().feeds()[0][1]
gc.disable()  # a collection's cost depends on the whole heap (how much else is imported)
if kind == "vwap":
    for p, q, t in zip(prices[:n], sizes[:n], ts[:n]):
        feed(p, q, t)
else:
    for p, t in zip(prices[:n], ts[:n]):
        feed(p, t)
"""

PIPELINE = """
import gc
import sys
from pathlib import Path
sys.path.insert(0, ".")
import bench.bench_pipeline as bp
config, workload, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])
batches = bp.workloads(Path(sys.argv[4]), 20_000)[workload]
print(sum(len(batch) for batch in batches))
gc.disable()
bp.CONFIGURATIONS[config][1](batches, passes)
"""


def instructions(repo: Path, script: str, args: list[str]) -> tuple[int, str]:
    """Instructions the script executes in ``repo`` (callgrind's total) and what it printed."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "workload.py"
        path.write_text(script)
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/out",
                sys.executable,
                str(path),
                *args,
            ],
            cwd=repo,
            env={**os.environ, **DETERMINISTIC},
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1)), done.stdout


def per_event(repo: Path, workload: str, data: Path) -> float:
    kind, _, rest = workload.partition(":")
    if kind == "calc":
        small, _ = instructions(repo, CALCULATOR, [rest, "20000"])
        large, _ = instructions(repo, CALCULATOR, [rest, "40000"])
        return (large - small) / 20_000
    if kind == "pipeline":
        config, _, name = rest.partition(":")
        small, printed = instructions(repo, PIPELINE, [config, name, "1", str(data)])
        large, _ = instructions(repo, PIPELINE, [config, name, "3", str(data)])
        return (large - small) / (2 * int(printed.split()[0]))
    raise SystemExit(f"unknown workload {workload!r} (calc:<kind> or pipeline:<config>:<name>)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=DEFAULT)
    parser.add_argument("--repo", type=Path, help="another checkout, measured beside this one")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("TICKERPLANT_SAMPLE_DATA", REPO.parent / "shared" / "data")),
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt install valgrind)")
    repos = [REPO] + ([args.repo.resolve()] if args.repo else [])
    print(f"instructions per event (callgrind, PYTHONHASHSEED=0); {', '.join(map(str, repos))}")
    for workload in args.workloads:
        counts = [per_event(repo, workload, args.data) for repo in repos]
        line = f"{workload:<26}" + "".join(f"{count:>12,.0f}" for count in counts)
        if len(counts) == 2:
            line += f"   this/other = {counts[0] / counts[1]:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
