"""Production settings pass `manage.py check --deploy`; embedded settings need no env at all."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_a_process_that_loses_the_race_for_the_secret_key_uses_the_winners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """daphne, the workers and Celery start at once on a fresh var dir. A process that found no
    key, while another created it in between, died with FileExistsError (seen in CI): it must
    take the key that is there, whole, and leave no file of its own behind."""
    from controlplane import settings

    monkeypatch.delenv("TICKERPLANT_SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("the-winners-key")
    real_exists = Path.exists
    # The loser checked before the winner's key appeared.
    monkeypatch.setattr(
        Path, "exists", lambda path: False if path.name == "secret_key" else real_exists(path)
    )
    assert settings._secret_key(tmp_path) == "the-winners-key"
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]


def test_processes_started_together_share_one_secret_key(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from controlplane.settings import _secret_key; "
        "print(_secret_key(Path(sys.argv[1])))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("TICKERPLANT_")}
    var = tmp_path / "var"
    var.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(var)],
            cwd=REPO,
            env={**base, "TICKERPLANT_VAR_DIR": str(var)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    assert {out.strip() for out, _ in outputs} == {(var / "secret_key").read_text()}
    assert [path.name for path in var.iterdir() if "secret" in path.name] == ["secret_key"]
    assert oct((var / "secret_key").stat().st_mode)[-3:] == "600"


def test_runplatform_refuses_unapplied_migrations(tmp_path: Path) -> None:
    result = _manage(["runplatform", "--port", "1"], {}, tmp_path)
    assert result.returncode != 0
    assert "unapplied migration" in result.stderr and "manage.py migrate" in result.stderr
