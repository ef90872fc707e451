"""Mutation fuzzing of the FIX decoder: the real CME security definitions, and W/X market data
as the encoder writes them (the captures hold no market data), with and without a dictionary.
Half of the mutated messages get their BodyLength and CheckSum recomputed, so the mutation
reaches the parser's fields and the normalizer instead of stopping at the trailer check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.protocols.fix import FixDecoder, FixParams, FixParser
from tests.conftest import unavailable
from tests.ingest.protocols.fix.test_fix_compiled import market_data
from tests.ingest.protocols.fuzz.harness import check_mutants
from tests.ingest.protocols.fuzz.mutants import Record, fix_trailer, mutants

MUTANTS = 300


@pytest.fixture(autouse=True, scope="module")
def _dictionary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("TICKERPLANT_CACHE_DIR")
    os.environ["TICKERPLANT_CACHE_DIR"] = str(tmp_path_factory.mktemp("fix-cache"))
    yield
    if previous is None:
        os.environ.pop("TICKERPLANT_CACHE_DIR", None)
    else:
        os.environ["TICKERPLANT_CACHE_DIR"] = previous


def fuzz(name: str, records: list[Record], params: FixParams, compare: bool) -> None:
    def reference() -> FixDecoder:
        return FixDecoder(name, params, compiled=False)

    def compiled() -> FixDecoder:
        return FixDecoder(name, params, compiled=True)

    twins = compare and FixParser().compiled
    batch = mutants(name, records, MUTANTS, window=30, repair=fix_trailer)
    report = check_mutants(name, batch, compiled if twins else None, reference)
    print(report.summary())
    assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
    assert report.rejected > 0 and report.decoded > report.rejected


def test_cme_security_definitions(shared_data: Path, compare: bool) -> None:
    path = shared_data / "fix" / "cme-secdef" / "200secdef.cme.txt"
    if not path.is_file():
        unavailable(f"{path} not found (set TICKERPLANT_SAMPLE_DATA)")
    lines = [line for line in path.read_bytes().split(b"\n") if line]
    fuzz("fix_secdef", [Record(0, line) for line in lines], FixParams(), compare)


def test_market_data(compare: bool) -> None:
    records = [Record(0, message) for message in market_data(400, seed=5)]
    fuzz("fix_md", records, FixParams(), compare)


def test_market_data_with_a_dictionary(shared_data: Path, compare: bool) -> None:
    xml = shared_data / "fix" / "quickfix-dict" / "FIX44.xml"
    if not xml.is_file():
        unavailable(f"{xml} not found (set TICKERPLANT_SAMPLE_DATA)")
    records = [Record(0, message) for message in market_data(400, seed=6)]
    fuzz("fix_md_dict", records, FixParams(dictionary=str(xml)), compare)
