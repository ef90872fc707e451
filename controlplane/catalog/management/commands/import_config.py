"""``manage.py import_config config.toml [--if-empty]``: load a config file into the catalog."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from controlplane.catalog.checks import CatalogError
from controlplane.catalog.config_io import catalog_is_empty, do_import_spec
from pipelines.config_file import ConfigError, load_config


class Command(BaseCommand):
    help = "Load a config.toml into the catalog (through the catalog actions, audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the config.toml to load")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the catalog has entries"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not catalog_is_empty():
            self.stdout.write("catalog not empty; nothing imported (--if-empty)")
            return
        try:
            spec = load_config(options["path"])
        except (ConfigError, OSError) as exc:
            raise CommandError(str(exc)) from None
        try:
            report = do_import_spec(None, spec)
        except CatalogError as exc:
            raise CommandError(f"{options['path']}: {exc}") from None
        for entry, outcome in report.items():
            self.stdout.write(f"{entry}: {outcome}")
