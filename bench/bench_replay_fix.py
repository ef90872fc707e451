"""The whole-process FIX figure: ``python -m pipelines replay`` against QuickFIX and simplefix
processes parsing the same file (not a test).

    .venv/bin/python -m bench.bench_replay_fix [--messages 20000] [--repeat 3]

~20,000 FIX 4.4 W/X market-data messages are generated with our encoder (bench.bench_fix's
generator) into a temporary file, one message per line. Each contestant is a fresh process timed
from spawn to exit, start-up and dictionary loading included:

- ours: ``python -m pipelines replay FILE --protocol fix --dictionary FIX44.xml --emit stats``
  (read, frame, parse with groups and checks, normalize to events, count them);
- quickfix: ``quickfix.DataDictionary(FIX44.xml)`` then ``quickfix.Message(line, dd, False)`` per
  line (C++ parse with groups, through its Python binding; no events);
- simplefix: ``FixParser.append_buffer`` + ``get_message`` per line (flat tag/value pairs).

Peers: ``.venv/bin/pip install -r requirements-bench.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_fix import DATA, generate

REPO = Path(__file__).resolve().parents[1]

QUICKFIX = """
import sys, quickfix
dd = quickfix.DataDictionary(sys.argv[2])
count = 0
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        line = line.rstrip(b"\\n")
        if line:
            quickfix.Message(line.decode("latin-1"), dd, False)
            count += 1
print(count)
"""

SIMPLEFIX = """
import sys, simplefix
parser = simplefix.FixParser()
count = 0
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        line = line.rstrip(b"\\n")
        if line:
            parser.append_buffer(line)
            parser.get_message()
            count += 1
print(count)
"""

IMPORTS_ONLY = "import pipelines.replay.cli, ingest.protocols"


def timed(argv: list[str], repeat: int) -> tuple[float, str]:
    """Best wall time of ``repeat`` runs of a fresh process, and its last stdout."""
    best, output = float("inf"), ""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:4]} failed: {done.stderr[-2000:]}")
        best, output = min(best, elapsed), done.stdout
    return best, output


def available(module: str) -> bool:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return done.returncode == 0


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("--messages", type=int, default=20_000)
    arguments.add_argument("--repeat", type=int, default=3)
    options = arguments.parse_args()
    dictionary = DATA / "quickfix-dict" / "FIX44.xml"

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "md.fix"
        messages = generate(options.messages)
        path.write_bytes(b"\n".join(messages) + b"\n")
        size = path.stat().st_size
        print(f"{len(messages):,} FIX 4.4 W/X messages, {size / len(messages):.0f} B avg, "
              f"{size / 1e6:.1f} MB; best of {options.repeat} fresh processes each")  # fmt: skip
        # Warm the dictionary cache once, as any second run of the command finds it.
        timed([sys.executable, "-m", "pipelines", "replay", str(path), "--protocol", "fix",
               "--dictionary", str(dictionary), "--emit", "stats"], 1)  # fmt: skip

        results: dict[str, float] = {}
        startup, _ = timed([sys.executable, "-c", IMPORTS_ONLY], options.repeat)
        ours, output = timed(
            [sys.executable, "-m", "pipelines", "replay", str(path), "--protocol", "fix",
             "--dictionary", str(dictionary), "--emit", "stats"],
            options.repeat,
        )  # fmt: skip
        stats = json.loads(output)
        results["ours: replay --emit stats"] = ours
        print(
            f"  ours: {stats['messages']:,} messages -> {stats['events_total']:,} events, "
            f"{stats['decode_errors']} errors; in-process loop {stats['elapsed_seconds']:.3f} s, "
            f"setup {stats['setup_seconds']:.3f} s; interpreter + imports alone {startup:.3f} s"
        )
        if available("quickfix"):
            results["quickfix (C++ via Python)"], _ = timed(
                [sys.executable, "-c", QUICKFIX, str(path), str(dictionary)], options.repeat
            )
        else:
            print("  quickfix not installed (pip install -r requirements-bench.txt)")
        if available("simplefix"):
            results["simplefix"], _ = timed(
                [sys.executable, "-c", SIMPLEFIX, str(path)], options.repeat
            )
        else:
            print("  simplefix not installed (pip install -r requirements-bench.txt)")

    for name, seconds in results.items():
        rate = len(messages) / seconds
        print(f"  {name:<30} {seconds:7.3f} s  {rate:>10,.0f} msgs/s (whole process)")
    for name, seconds in results.items():
        if name.startswith("ours"):
            continue
        print(f"  ours / {name}: {seconds / ours:5.2f}x the speed ({ours / seconds:.2f}x the time)")


if __name__ == "__main__":
    main()
