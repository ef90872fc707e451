"""The one way past the append-only triggers: the test runner's flush, and nothing else.

Migration 0002's triggers refuse UPDATE, DELETE (and TRUNCATE on Postgres) on the audit table.
Django's test runner empties every table between transactional tests with ``flush``; the audit
app's ``flush`` command lifts the triggers for that one statement when, and only when,
``settings.TICKERPLANT_AUDIT_FLUSH_ALLOWED`` is true (the test fixtures set it; production
settings force it off).

On SQLite the triggers call ``tickerplant_audit_maintenance()``, registered here on every
connection Django opens; it answers 1 only inside :func:`audit_maintenance`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["audit_maintenance", "install_sqlite_function"]

_FLAG = "_tickerplant_audit_maintenance"


def install_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **_: Any) -> None:
    """``connection_created`` receiver: the function the SQLite triggers ask."""
    if connection.vendor != "sqlite":
        return
    setattr(connection, _FLAG, False)
    connection.connection.create_function(
        "tickerplant_audit_maintenance", 0, lambda: 1 if getattr(connection, _FLAG) else 0
    )


@contextlib.contextmanager
def audit_maintenance(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Lift the append-only triggers for ``connection`` while the block runs."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET tickerplant.audit_maintenance = 'on'")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET tickerplant.audit_maintenance")
        return
    setattr(connection, _FLAG, True)
    try:
        yield
    finally:
        setattr(connection, _FLAG, False)
