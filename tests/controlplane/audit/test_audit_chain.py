"""The audit trail: append-only, hash-chained, and audit_verify names the first broken entry."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from controlplane.audit.actions import check_audit_chain, do_record_audit
from controlplane.audit.chain import GENESIS_HASH
from controlplane.audit.models import AuditEntry, AuditImmutableError

pytestmark = pytest.mark.django_db


def _three_entries() -> list[AuditEntry]:
    return [
        do_record_audit("alice", "source.create", "feed", {"kind": "simulator", "rate": 10.5}),
        do_record_audit("bob", "source.update", "feed", {"changes": {"enabled": [True, False]}}),
        do_record_audit("alice", "source.delete", "feed", {}),
    ]


def test_entries_chain_each_to_the_previous_hash() -> None:
    first, second, third = _three_entries()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert [e.position for e in (first, second, third)] == [1, 2, 3]
    result = check_audit_chain()
    assert result.report.checked == 3 and result.broken is None


def test_audit_verify_reports_an_intact_chain(capsys: pytest.CaptureFixture[str]) -> None:
    _three_entries()
    call_command("audit_verify")
    assert "audit chain intact: 3 entries verified" in capsys.readouterr().out


def test_the_model_refuses_updates_and_deletes() -> None:
    entry = _three_entries()[0]
    entry.actor = "mallory"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="mallory")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.all().delete()
