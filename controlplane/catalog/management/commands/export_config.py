"""``manage.py export_config [PATH]``: write the catalog as config.toml (stdout without PATH)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from controlplane.catalog.config_io import export_toml


class Command(BaseCommand):
    help = "Write the catalog as a config.toml that import_config (and pipelines run) load."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="file to write; stdout when omitted")

    def handle(self, *args: Any, **options: Any) -> None:
        text = export_toml()
        if options["path"]:
            Path(options["path"]).write_text(text)
            self.stdout.write(f"wrote {options['path']}")
        else:
            self.stdout.write(text, ending="")
