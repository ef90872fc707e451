"""The state directory is private: var/ 0700; the database, its WAL files and secrets 0600."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _manage(var: Path, *args: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_"))},
        "TICKERPLANT_VAR_DIR": str(var),
    }
    env.pop("TICKERPLANT_SECRET_KEY", None)
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True
    )


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_fresh_var_dir_is_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    _manage(var, "migrate", "--noinput")
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600
    files = [p for p in var.iterdir() if p.name.startswith("db.sqlite3")]
    assert var / "db.sqlite3" in files
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_existing_world_readable_var_dir_is_made_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    _manage(var, "migrate", "--noinput")
    var.chmod(0o755)
    for path in var.iterdir():
        if path.is_file():
            path.chmod(0o644)
    _manage(var, "check")
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600 and _mode(var / "db.sqlite3") == 0o600
