"""Helpers to run a real platform (`manage.py runplatform`) from the tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD = "e2e-admin", "e2e-password-123"


@dataclass
class Platform:
    port: int
    token: str
    process: subprocess.Popen[bytes]
    var_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/stream/"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def platform_env(var_dir: Path, port: int, metrics_port: int) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TICKERPLANT_", "DJANGO_", "DATABASE_URL"))
    }
    return {
        **keep,
        "TICKERPLANT_VAR_DIR": str(var_dir),
        "TICKERPLANT_PORT": str(port),
        "TICKERPLANT_METRICS_PORT": str(metrics_port),
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_healthy(platform: Platform, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if platform.process.poll() is not None:
            pytest.fail(f"runplatform exited early:\n{platform.log_tail()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{platform.url}/healthz", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    pytest.fail(f"/healthz never answered:\n{platform.log_tail()}")


def stop_platform(platform: Platform, timeout: float = 40) -> int:
    if platform.process.poll() is None:
        platform.process.send_signal(signal.SIGTERM)
    try:
        return platform.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(platform.process.pid, signal.SIGKILL)
        platform.process.wait()
        raise
