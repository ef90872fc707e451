"""Concurrent writers never fork the chain: appends are serialized on the chain head."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from controlplane.audit.actions import check_audit_chain, do_record_audit
from controlplane.audit.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]
WRITERS, APPENDS = 6, 15

_WRITER = """
import django, sys
django.setup()
from controlplane.audit.actions import do_record_audit
for j in range(int(sys.argv[2])):
    do_record_audit(sys.argv[1], "test.append", str(j), {"j": j})
"""


def _assert_one_chain(total: int) -> None:
    positions = list(AuditEntry.objects.values_list("position", flat=True))
    assert positions == list(range(1, total + 1))
    result = check_audit_chain()
    assert result.broken is None and result.report.checked == total


def test_concurrent_threads_append_one_chain() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("the SQLite test database is in memory with a shared cache: no busy wait")
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        try:
            start.wait()
            for j in range(APPENDS):
                do_record_audit(f"thread{index}", "test.append", str(j), {"j": j})
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    _assert_one_chain(WRITERS * APPENDS)


def test_concurrent_processes_append_one_chain(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("processes share the test database on Postgres only (SQLite's is in memory)")
    db = connection.settings_dict
    url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}@"
        f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "TICKERPLANT_VAR_DIR": str(tmp_path),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, f"process{i}", str(APPENDS)],
            cwd=REPO,
            env=env,
            stderr=subprocess.PIPE,
        )
        for i in range(WRITERS)
    ]
    failures = []
    for process in processes:
        _, stderr = process.communicate(timeout=180)
        if process.returncode != 0:
            failures.append(stderr.decode(errors="replace")[-2000:])
    assert not failures, failures
    _assert_one_chain(WRITERS * APPENDS)
