"""Tampering with the audit trail is refused by the database, or found and named by audit_verify.

Each tampering is done as an attacker with SQL access would: past the triggers (the test lifts
them with ``audit_maintenance``, as a table owner could drop them), then ``audit_verify`` must
name the first deleted, inserted or altered entry. The same tests run on SQLite and, with a
Postgres ``DATABASE_URL``, on Postgres.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from controlplane.audit.actions import (
    AuditKeyMissing,
    check_audit_chain,
    do_anchor_audit_head,
    do_record_audit,
)
from controlplane.audit.anchor import Anchor
from controlplane.audit.chain import entry_hash
from controlplane.audit.maintenance import audit_maintenance
from controlplane.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


def _entries(count: int = 5, anchor_each: bool = False) -> None:
    for i in range(1, count + 1):
        do_record_audit(f"user{i}", "source.update", f"feed{i}", {"n": i})
        if anchor_each:
            assert isinstance(do_anchor_audit_head(), Anchor)


def _sql(statement: str, params: list[Any] | None = None) -> None:
    """Run SQL past the append-only triggers, as someone who can drop them would."""
    with transaction.atomic(), audit_maintenance(connection), connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    return str(failure.value)


def _rehash_from(position: int, keyring: Any = None) -> None:
    """Recompute every hash from ``position`` on, so the chain is consistent again."""
    prev = AuditEntry.objects.get(position=position - 1).hash if position > 1 else "0" * 64
    for entry in AuditEntry.objects.filter(position__gte=position).order_by("position"):
        new = entry_hash(
            position=entry.position,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            data=entry.data,
            prev_hash=prev,
        )
        _sql(
            f"UPDATE {TABLE} SET prev_hash = %s, hash = %s WHERE position = %s",
            [prev, new, entry.position],
        )
        prev = new


# --- the database refuses -----------------------------------------------------------------------
def test_the_database_refuses_update_and_delete() -> None:
    _entries(2)
    for statement in (
        f"UPDATE {TABLE} SET actor = 'mallory' WHERE position = 1",
        f"DELETE FROM {TABLE} WHERE position = 2",
        f"DELETE FROM {TABLE}",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert list(AuditEntry.objects.values_list("actor", flat=True)) == ["user1", "user2"]


def test_postgres_refuses_truncate() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is Postgres's (SQLite has none)")
    _entries(1)
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {TABLE}")
    assert AuditEntry.objects.count() == 1


def test_flush_is_refused_outside_the_test_runner(settings: Any) -> None:
    _entries(1)
    settings.TICKERPLANT_AUDIT_FLUSH_ALLOWED = False
    with pytest.raises(CommandError, match="append-only"):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 1


# --- audit_verify names what was done ------------------------------------------------------------
def test_an_intact_anchored_chain_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    _entries(3)
    call_command("audit_verify", "--anchor")
    out = capsys.readouterr().out
    assert "3 entries verified; no anchor yet" in out and "anchored #3" in out
    _entries(2)
    call_command("audit_verify")
    assert "5 entries verified; consistent with the anchor" in capsys.readouterr().out


def test_deleting_the_last_entries_is_found() -> None:
    _entries(5)
    do_anchor_audit_head()
    _sql(f"DELETE FROM {TABLE} WHERE position >= 4")
    message = _verify_fails()
    assert "broken at entry #4 (truncated)" in message
    assert "entry #4..#5 deleted" in message and "ends at #3" in message


def test_deleting_every_entry_is_found() -> None:
    _entries(5)
    do_anchor_audit_head()
    _sql(f"DELETE FROM {TABLE}")
    assert "every entry was deleted" in _verify_fails()


def test_deleting_an_entry_in_the_middle_is_found() -> None:
    _entries(5)
    _sql(f"DELETE FROM {TABLE} WHERE position = 3")
    assert "broken at entry #3 (deleted): entry #3 missing" in _verify_fails()


def test_altering_one_entry_is_found() -> None:
    _entries(5)
    _sql(f"UPDATE {TABLE} SET actor = 'mallory' WHERE position = 2")
    assert "broken at entry #2 (altered): entry #2 was altered" in _verify_fails()


def test_altering_an_entry_and_recomputing_every_hash_is_found_by_the_anchor() -> None:
    _entries(5)
    do_anchor_audit_head()  # one anchor: the rewrite is found, somewhere in #1..#5
    _sql(f"UPDATE {TABLE} SET actor = 'mallory' WHERE position = 2")
    _rehash_from(2)
    assert check_audit_chain().report.broken is None  # the chain alone looks intact
    message = _verify_fails()
    assert "(rewritten)" in message and "one of #1..#5" in message


def test_anchors_after_each_append_name_the_rewritten_entry() -> None:
    _entries(5, anchor_each=True)
    _sql(f"UPDATE {TABLE} SET data = %s WHERE position = 3", [json.dumps({"n": 99})])
    _rehash_from(3)
    message = _verify_fails()
    assert "broken at entry #3 (rewritten)" in message and "first altered entry is #3" in message


def test_inserting_an_entry_in_the_middle_is_found() -> None:
    _entries(5)
    # Make room at #3 by shifting #3..#5 up, then insert a well-formed entry linked to #2.
    for position in (5, 4, 3):
        _sql(f"UPDATE {TABLE} SET position = %s WHERE position = %s", [position + 1, position])
    second = AuditEntry.objects.get(position=2)
    forged = AuditEntry(
        position=3,
        created_at=second.created_at,
        actor="mallory",
        action="source.delete",
        target="feed",
        data={},
        prev_hash=second.hash,
    )
    forged.hash = entry_hash(
        position=3,
        created_at=forged.created_at,
        actor="mallory",
        action="source.delete",
        target="feed",
        data={},
        prev_hash=second.hash,
    )
    forged.save()
    assert "broken at entry #3 (inserted): entry #3 was inserted" in _verify_fails()


def test_the_anchor_does_not_move_over_a_truncated_chain(audit_anchor_url: str) -> None:
    _entries(4)
    first = do_anchor_audit_head()
    assert isinstance(first, Anchor) and first.position == 4
    anchor_file = Path(audit_anchor_url.removeprefix("file://"))
    before = anchor_file.read_bytes()
    _sql(f"DELETE FROM {TABLE} WHERE position >= 3")
    _entries(3)  # new entries #3..#5 on top of the truncated chain
    refused = do_anchor_audit_head()
    assert not isinstance(refused, Anchor) and refused.kind == "rewritten"
    assert anchor_file.read_bytes() == before
    assert "(rewritten)" in _verify_fails()


def test_the_anchor_file_is_private(audit_anchor_url: str) -> None:
    _entries(1)
    do_anchor_audit_head()
    path = Path(audit_anchor_url.removeprefix("file://"))
    assert path.stat().st_mode & 0o777 == 0o600


# --- with an audit key ---------------------------------------------------------------------------
def test_with_a_key_a_recomputed_chain_is_found_without_any_anchor(settings: Any) -> None:
    settings.TICKERPLANT_AUDIT_KEY = "k" * 32
    _entries(3)
    assert all(e.key_id for e in AuditEntry.objects.all())
    _sql(f"UPDATE {TABLE} SET actor = 'mallory' WHERE position = 2")
    _rehash_from(2)  # recomputed without the key: plain SHA-256
    message = _verify_fails()
    assert "broken at entry #2 (altered)" in message and "forged without the key" in message


def test_with_a_key_an_appended_forgery_is_found(settings: Any) -> None:
    settings.TICKERPLANT_AUDIT_KEY = "k" * 32
    _entries(2)
    last = AuditEntry.objects.get(position=2)
    forged = AuditEntry(
        position=3,
        created_at=last.created_at,
        actor="mallory",
        action="source.delete",
        target="feed",
        data={},
        prev_hash=last.hash,
        key_id=last.key_id,
        hash="f" * 64,
    )
    forged.save()
    assert "broken at entry #3 (altered)" in _verify_fails()


def test_a_forged_anchor_is_refused(settings: Any, audit_anchor_url: str) -> None:
    settings.TICKERPLANT_AUDIT_KEY = "k" * 32
    _entries(2)
    do_anchor_audit_head()
    path = Path(audit_anchor_url.removeprefix("file://"))
    document = json.loads(path.read_text())
    document["position"] = 1
    path.write_text(json.dumps(document))
    assert "forged or altered" in _verify_fails()


def test_the_old_key_still_verifies_after_a_rotation(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.TICKERPLANT_AUDIT_KEY = "old" * 11
    _entries(2)
    do_anchor_audit_head()
    settings.TICKERPLANT_AUDIT_KEY = "new" * 11
    assert "neither TICKERPLANT_AUDIT_KEY" in _verify_fails()
    settings.TICKERPLANT_AUDIT_OLD_KEYS = ["old" * 11]
    _entries(1)
    call_command("audit_verify", "--anchor")
    assert "3 entries verified" in capsys.readouterr().out


def test_a_keyed_chain_refuses_unkeyed_appends(settings: Any) -> None:
    settings.TICKERPLANT_AUDIT_KEY = "k" * 32
    _entries(1)
    settings.TICKERPLANT_AUDIT_KEY = ""
    with pytest.raises(AuditKeyMissing):
        do_record_audit("system", "x", "y", {})
    assert AuditEntry.objects.count() == 1
