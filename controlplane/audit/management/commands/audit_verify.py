"""``manage.py audit_verify``: prove the audit hash chain intact, or name the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from controlplane.audit.actions import check_audit_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero naming the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = check_audit_chain()
        if broken is not None:
            raise CommandError(
                f"audit chain broken at entry #{broken.position}: {broken.reason} "
                f"({checked} entries before it are intact)"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} entries verified"))
