"""The QuickFIX FIX 4.4 server acceptance scripts, run against our acceptor over TCP.

One test per script; each gets a fresh acceptor (test mode: application messages echoed, as
QuickFIX's own test acceptor does) with a fresh on-disk store. The comparison rules are in
quickfix_scripts.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.protocols.fix.session import EchoApplication, FixAcceptor, SessionConfig
from tests.ingest.protocols.fix.session.quickfix_scripts import run_script

# Collected by name at import time (one test per script); the shared_data fixture of each test
# skips (or fails under CI=true) when the data is absent.
_DATA = os.environ.get("TICKERPLANT_SAMPLE_DATA") or Path(__file__).parents[6] / "shared" / "data"
SCRIPTS = Path(_DATA) / "fix" / "quickfix-acceptance" / "server_fix44"
NAMES = sorted(path.stem for path in SCRIPTS.glob("*.def"))

# Scripts that wait for real heartbeat intervals (108=6): 12 s and 36 s.
SLOW = {"4a_NoDataSentDuringHeartBtInt", "6_SendTestRequest"}
EXPECTED_FAILURES: dict[str, str] = {}


def _params() -> list[object]:
    params = []
    for name in NAMES:
        marks = []
        if name in SLOW:
            marks.append(pytest.mark.slow)
        if name in EXPECTED_FAILURES:
            marks.append(pytest.mark.xfail(reason=EXPECTED_FAILURES[name], strict=True))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def test_all_59_scripts_are_present(shared_data: Path) -> None:
    assert len(NAMES) == 59


@pytest.mark.parametrize("script", _params())
async def test_script(script: str, shared_data: Path, tmp_path: Path) -> None:
    config = SessionConfig(
        begin_string="FIX.4.4",
        sender_comp_id="ISLD",
        target_comp_id="TW44",
        dictionary=str(shared_data / "fix" / "quickfix-dict" / "FIX44.xml"),
        store_dir=str(tmp_path / "store"),
        reset_on_disconnect=True,
    )
    acceptor = FixAcceptor("127.0.0.1", 0, [config], lambda config: EchoApplication())
    async with acceptor:
        await run_script(SCRIPTS / f"{script}.def", "127.0.0.1", acceptor.port)
