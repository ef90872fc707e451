"""The replay command over mutated capture files: whatever the bytes, it reads the file to the
end and exits 0, with every framed message decoded or counted (``--emit stats``), and prints
books without a traceback (``--emit books``). The files are cut-down real captures (CSV: the
simulator's orders), mutated whole: the capture readers (pcap, the ws capture text, lines) are
fuzzed with the decoders behind them."""

from __future__ import annotations

import argparse
import io
import json
import random
from pathlib import Path

import pytest

from pipelines.replay import cli
from tests.conftest import unavailable
from tests.ingest.protocols.fuzz.mutants import BINARY_EDITS, TEXT_EDITS
from tests.ingest.protocols.fuzz.test_fuzz_mapped import orders_csv

MUTANTS = 60


def _lines(path: Path, count: int) -> bytes:
    if not path.is_file():
        unavailable(f"{path} not found (set TICKERPLANT_SAMPLE_DATA)")
    return b"".join(path.read_bytes().splitlines(keepends=True)[:count])


def _run(argv: list[str]) -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    code = cli.run(parser.parse_args(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


CASES = {
    # name: (files as (file name, bytes-maker), protocol arguments, binary)
    "binance_spot": (
        lambda data: {
            "ws": _lines(data / "ws/binance-spot/BINANCE.ws.1.0", 120),
            "http": _lines(data / "ws/binance-spot/BINANCE.http.0.0", 2),
        },
        ["--protocol", "json", "--mapping", "binance_spot", "--snapshots", "{http}"],
        False,
    ),
    "kraken": (
        lambda data: {
            "ws": b"".join(
                line
                for index, line in enumerate(
                    (data / "ws/kraken/KRAKEN.ws.50.0").read_bytes().splitlines(keepends=True)
                )
                if index < 13 or index in (19, 20) or 23 <= index < 150
            )
        },
        ["--protocol", "json", "--mapping", "kraken"],
        False,
    ),
    "orders_csv": (
        lambda data: {"csv": b"\n".join(r.payload for r in orders_csv(150)) + b"\n"},
        ["--protocol", "csv", "--mapping", "orders_csv"],
        False,
    ),
    "fix": (
        lambda data: {"fix": _lines(data / "fix/cme-secdef/200secdef.cme.txt", 40)},
        ["--protocol", "fix"],
        False,
    ),
    "cme_mdp3": (
        lambda data: {
            "pcap": (data / "sbe/cme-mdp3/v8_samples/MdIncrementalRefreshVolume.pcap").read_bytes()
        },
        ["--protocol", "sbe", "--schema", "{schema}"],
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_of_mutated_files_exits_0(shared_data: Path, tmp_path: Path, name: str) -> None:
    make, arguments, binary = CASES[name]
    originals = make(shared_data)
    schema = str(shared_data / "sbe/cme-mdp3/templates_FixBinary_v8.xml")
    edits = BINARY_EDITS if binary else TEXT_EDITS
    failures = []
    for index in range(MUTANTS):
        rng = random.Random(f"file:{name}:{index}")
        paths = {}
        for file_name, data in originals.items():
            for _ in range(rng.randint(1, 6)):
                data, _note = rng.choice(edits)(rng, data)
            path = tmp_path / f"{index}-{file_name}"
            path.write_bytes(data)
            paths[file_name] = str(path)
        main_file = paths[next(iter(originals))]
        args = [a.format(schema=schema, **paths) for a in arguments]
        emit = "stats" if index % 2 else "books"
        code, out, err = _run([main_file, *args, "--emit", emit])
        if code != 0 or "Traceback" in err:
            failures.append(f"file:{name}:{index}: exit {code}: {err[-300:]}")
            continue
        if emit == "stats":
            stats = json.loads(out.splitlines()[-1])
            assert stats["messages"] >= stats["decode_errors"]
    assert failures == [], "\n".join(failures)


def test_the_real_files_replay_cleanly(shared_data: Path) -> None:
    """The unmutated inputs decode: the mutants above start from good data."""
    folder = shared_data / "ws/binance-spot"
    code, out, _err = _run([
        str(folder / "BINANCE.ws.1.0"), "--protocol", "json", "--mapping", "binance_spot",
        "--snapshots", str(folder / "BINANCE.http.0.0"), "--emit", "stats",
    ])  # fmt: skip
    assert code == 0 and json.loads(out)["decode_errors"] == 0
