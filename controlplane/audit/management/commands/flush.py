"""``manage.py flush``, refused by the append-only audit trail except in the test runner.

Overrides Django's command (apps' commands take precedence over Django's own). With
``settings.TICKERPLANT_AUDIT_FLUSH_ALLOWED`` (tests only) the audit triggers are lifted for the
flush; otherwise the command refuses before touching anything.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections

from controlplane.audit.maintenance import audit_maintenance


class Command(flush.Command):
    help = (
        "Empty the database (tests only): the audit trail is append-only, so outside the test "
        "runner this refuses."
    )

    def handle(self, **options: Any) -> None:
        if not getattr(settings, "TICKERPLANT_AUDIT_FLUSH_ALLOWED", False):
            raise CommandError(
                "the audit trail is append-only: flush would delete it, and the database "
                "refuses (drop and recreate the database instead)"
            )
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with audit_maintenance(connection):
            super().handle(**options)
