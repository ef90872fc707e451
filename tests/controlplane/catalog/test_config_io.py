"""import_config / export_config: config.toml in, the same spec out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from controlplane.catalog.compile import compile_spec
from controlplane.catalog.models import DataSource, ProcessingRule
from pipelines.config_file import loads_config

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]


def test_import_the_repository_config(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import_config", str(REPO / "config.toml"))
    source = DataSource.objects.get(name="sim")
    assert source.kind == "simulator"
    assert source.symbols == ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL"]
    assert ProcessingRule.objects.get(name="ema").params == {"window": 10}
    assert "source sim: created" in capsys.readouterr().out


def test_if_empty_leaves_a_filled_catalog_alone(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import_config", str(REPO / "config.toml"))
    DataSource.objects.update(symbols=["X"])
    call_command("import_config", str(REPO / "config.toml"), "--if-empty")
    assert "nothing imported" in capsys.readouterr().out
    assert DataSource.objects.get().symbols == ["X"]


def test_bad_config_is_a_command_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[data_sources]\n[feed]\ntype = "simulator"\nrate = -1\n')
    with pytest.raises(CommandError, match="rate"):
        call_command("import_config", str(path))
    assert not DataSource.objects.exists()


def test_export_round_trips(tmp_path: Path, settings: Any) -> None:
    text = (
        '[data_sources.feed]\ntype = "simulator"\nsymbols = ["A.B", "XBT/USD"]\nrate = 20.5\n'
        'fields = ["price", "volume"]\n'
        "[processing]\nema_window = 7\n"
        "[shards]\ncount = 2\n"
    )
    path = tmp_path / "in.toml"
    path.write_text(text)
    call_command("import_config", str(path))
    out = tmp_path / "out.toml"
    call_command("export_config", str(out))
    exported = loads_config(out.read_text())
    original = loads_config(text)
    assert exported.sources == original.sources
    assert exported.calculators == original.calculators
    assert compile_spec(2).sources == original.sources


def test_import_config_of_a_non_utf8_file_is_a_clear_error(tmp_path: Any) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[data_sources]\n[feed]\ntype = "simulator"\n# caf\xe9\n')
    with pytest.raises(CommandError, match=r"latin1.toml:4: not UTF-8 text: byte 0xe9"):
        call_command("import_config", str(path))
