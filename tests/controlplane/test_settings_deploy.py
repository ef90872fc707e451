"""Production settings pass `manage.py check --deploy`; embedded settings need no env at all."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _manage(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TICKERPLANT_", "DJANGO_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, "TICKERPLANT_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "DJANGO_SETTINGS_MODULE": "controlplane.settings_production",
            "TICKERPLANT_SECRET_KEY": secrets.token_urlsafe(64),
            "TICKERPLANT_ALLOWED_HOSTS": "tickerplant.example.com",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_require_a_secret_key(tmp_path: Path) -> None:
    result = _manage(
        ["check"],
        {
            "DJANGO_SETTINGS_MODULE": "controlplane.settings_production",
            "TICKERPLANT_ALLOWED_HOSTS": "tickerplant.example.com",
        },
        tmp_path,
    )
    assert result.returncode != 0
    assert "TICKERPLANT_SECRET_KEY" in result.stderr


def test_embedded_settings_generate_and_keep_a_secret_key(tmp_path: Path) -> None:
    result = _manage(["check"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50 and oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    assert _manage(["check"], {}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_runplatform_refuses_unapplied_migrations(tmp_path: Path) -> None:
    result = _manage(["runplatform", "--port", "1"], {}, tmp_path)
    assert result.returncode != 0
    assert "unapplied migration" in result.stderr and "manage.py migrate" in result.stderr
