"""Mutation fuzzing of SBE: the CME MDP 3.0 decoder over the real v8 and v9 packet captures
(binary mutations: bit flips, bytes in and out, truncation, integer fields overwritten with the
extremes of their widths), and the generic SBE codec over the reference "Car" messages. Neither
has a compiled twin; the books behind the MDP 3.0 decoder are compared compiled against pure."""

from __future__ import annotations

import random
from pathlib import Path

from ingest.protocols.base import DecodeError
from ingest.protocols.cme_mdp3 import CmeMdp3Decoder, CmeMdp3Params
from ingest.protocols.sbe import SbeCodec, load_schema
from tests.conftest import unavailable
from tests.ingest.protocols.fuzz.conftest import capture_records
from tests.ingest.protocols.fuzz.harness import check_mutants
from tests.ingest.protocols.fuzz.mutants import BINARY_EDITS, mutants

MUTANTS = 300


def test_cme_mdp3(shared_data: Path, compare: bool) -> None:
    folder = shared_data / "sbe" / "cme-mdp3"
    for version, count in (("v8", MUTANTS), ("v9", MUTANTS // 3)):
        schema = folder / f"templates_FixBinary_{version}.xml"
        if not schema.is_file():
            unavailable(f"{schema} not found (set TICKERPLANT_SAMPLE_DATA)")
        records = [
            record
            for pcap in sorted((folder / f"{version}_samples").glob("*.pcap"))
            for record in capture_records(pcap)
        ]
        params = CmeMdp3Params(schema=str(schema))

        def decoder() -> CmeMdp3Decoder:
            return CmeMdp3Decoder("cme", params)  # noqa: B023 (called within the iteration)

        name = f"cme_mdp3_{version}"
        batch = mutants(name, records, count, window=30, binary=True)
        report = check_mutants(name, batch, decoder if compare else None, decoder)
        print(report.summary())
        assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
        assert report.decoded > 0


def test_sbe_codec_on_the_car_messages(shared_data: Path) -> None:
    folder = shared_data / "sbe" / "reallogic-car"
    if not folder.is_dir():
        unavailable(f"{folder} not found (set TICKERPLANT_SAMPLE_DATA)")
    codec = SbeCodec(load_schema(folder / "example-schema.xml"))
    seeds = [(folder / name).read_bytes() for name in ("car_example_baseline_data.sbe",)]
    escapes, decoded, rejected = [], 0, 0
    for index in range(MUTANTS):
        rng = random.Random(f"sbe_car:{index}")
        data = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            data, _note = rng.choice(BINARY_EDITS)(rng, data)
        try:
            codec.decode(data)
            decoded += 1
        except DecodeError:
            rejected += 1
        except Exception as exc:  # the escape
            escapes.append(f"sbe_car:{index}: {type(exc).__name__}: {exc}")
    print(
        f"sbe_car: {MUTANTS} mutants, {decoded} decoded, {rejected} rejected, {len(escapes)} escapes"
    )
    assert escapes == []
    assert decoded and rejected
