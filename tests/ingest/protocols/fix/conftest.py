"""Fixtures for the FIX tests: the shared sample data and hand-framed messages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingest.protocols.fix import FixDictionary, load_dictionary


@pytest.fixture(autouse=True, scope="session")
def _dictionary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled dictionaries go to a temporary cache, not the developer's ~/.cache."""
    previous = os.environ.get("TICKERPLANT_CACHE_DIR")
    os.environ["TICKERPLANT_CACHE_DIR"] = str(tmp_path_factory.mktemp("fix-cache"))
    yield
    if previous is None:
        os.environ.pop("TICKERPLANT_CACHE_DIR", None)
    else:
        os.environ["TICKERPLANT_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def fix_data(shared_data: Path) -> Path:
    path = shared_data / "fix"
    if not (path / "quickfix-dict").is_dir() or not (path / "cme-secdef").is_dir():
        reason = f"FIX sample data missing under {path} (set TICKERPLANT_SAMPLE_DATA)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def fix42(fix_data: Path) -> FixDictionary:
    return load_dictionary(fix_data / "quickfix-dict" / "FIX42.xml")


@pytest.fixture(scope="session")
def fix44(fix_data: Path) -> FixDictionary:
    return load_dictionary(fix_data / "quickfix-dict" / "FIX44.xml")


@pytest.fixture(scope="session")
def fix50sp2(fix_data: Path) -> FixDictionary:
    return load_dictionary(
        fix_data / "quickfix-dict" / "FIX50SP2.xml",
        transport=fix_data / "quickfix-dict" / "FIXT11.xml",
    )


@pytest.fixture(scope="session")
def cme_dictionary(fix_data: Path) -> FixDictionary:
    return load_dictionary(fix_data / "cme-secdef" / "FIX50SP2.CME.xml")


@pytest.fixture(scope="session")
def cme_lines(fix_data: Path) -> list[bytes]:
    text = (fix_data / "cme-secdef" / "200secdef.cme.txt").read_bytes()
    return [line for line in text.split(b"\n") if line]


Frame = Callable[[str, str], bytes]


def _frame(begin_string: str, body: str) -> bytes:
    payload = body.replace("|", "\x01").encode("latin-1")
    head = f"8={begin_string}\x019={len(payload)}\x01".encode("latin-1") + payload
    return head + b"10=%03d\x01" % (sum(head) % 256)


@pytest.fixture(scope="session")
def frame() -> Frame:
    """Frames a hand-written body (``|`` for SOH, starting at 35=): adds 8, 9 and 10.

    Independent of the encoder under test: plain ``sum`` for the checksum.
    """
    return _frame
