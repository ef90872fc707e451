"""The audit key's id per entry, and append-only enforced by the database itself.

SQLite: BEFORE UPDATE/DELETE triggers that abort unless the connection's
``tickerplant_audit_maintenance()`` answers 1. The function exists only on connections Django opens
(:mod:`controlplane.audit.maintenance` registers it, answering 0 unless the test runner's flush
runs), so a DELETE from any other client fails too ("no such function").

Postgres: BEFORE UPDATE/DELETE (per row) and BEFORE TRUNCATE (per statement) triggers that raise
unless the session set ``tickerplant.audit_maintenance = 'on'`` (only the test runner's flush).

A later migration that makes SQLite rebuild this table (most AlterField/RemoveField) drops the
triggers with the old table: it must run ``TRIGGERS`` again
(tests/controlplane/audit/test_audit_triggers.py fails otherwise).
"""

from typing import Any

from django.db import migrations, models

TABLE = "audit_auditentry"

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER audit_append_only_{op.lower()} BEFORE {op} ON {TABLE}
    WHEN tickerplant_audit_maintenance() IS NOT 1
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only ({op} refused)');
    END
    """
    for op in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS audit_append_only_{op}" for op in ("update", "delete")]

POSTGRES_CREATE = [
    """
    CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF coalesce(current_setting('tickerplant.audit_maintenance', true), '') = 'on' THEN
            IF TG_LEVEL = 'STATEMENT' THEN RETURN NULL; END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    f"""
    CREATE TRIGGER audit_append_only_row BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_append_only()
    """,
    f"""
    CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
    """,
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS audit_append_only_row ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_append_only_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS audit_append_only()",
]

TRIGGERS = {"sqlite": (SQLITE_CREATE, SQLITE_DROP), "postgresql": (POSTGRES_CREATE, POSTGRES_DROP)}


def _run(statements_index: int) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in TRIGGERS:
            raise RuntimeError(f"no append-only triggers for database {vendor!r}")
        for statement in TRIGGERS[vendor][statements_index]:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(_run(0), _run(1)),
    ]
