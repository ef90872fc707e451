from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "controlplane.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from controlplane.audit.maintenance import install_sqlite_function

        # Connection setup, not business logic: the SQLite triggers need the function.
        connection_created.connect(install_sqlite_function, dispatch_uid="audit-sqlite-function")
