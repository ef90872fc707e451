"""A real daphne serving ``controlplane.asgi`` on a free port, for tests and ``bench/``.

Its state (SQLite database, secret key, config store) lives in a temporary directory, whatever
``DATABASE_URL`` the caller runs with: the server is the thing under test, not the database.
A viewer with a token is created; the gateway reads the rings of ``shm_prefix``, which the
caller writes with a real ``RingWriter``. Everything daphne prints goes to ``log``, so a test
can assert that nothing was logged (no traceback for a client that vanished).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_ASGI_APP = "controlplane.asgi:application"

_CREATE_VIEWER = (
    "from django.contrib.auth.models import Group, User\n"
    "from rest_framework.authtoken.models import Token\n"
    "u = User.objects.create_user('live-viewer', password='live-viewer-pw-12345')\n"
    "u.groups.add(Group.objects.get_or_create(name='viewer')[0])\n"
    "print(Token.objects.create(user=u).key)\n"
)


@dataclass
class LiveDaphne:
    port: int
    token: str
    shm_prefix: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/stream/?token={self.token}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
            return int(response.status), response.read()

    def metric(self, name: str) -> float:
        """The value of an unlabelled sample of the control plane's ``/metrics``."""
        _, body = self.get("/metrics")
        found = re.search(rf"^{re.escape(name)} (\S+)$", body.decode(), re.MULTILINE)
        if found is None:
            raise KeyError(f"{name} not in /metrics")
        return float(found.group(1))

    def wait_metric(self, name: str, value: float, timeout: float = 60) -> float:
        """Wait until ``name`` equals ``value``; returns the last value read."""
        deadline = time.monotonic() + timeout
        current = self.metric(name)
        while current != value and time.monotonic() < deadline:
            time.sleep(0.1)
            current = self.metric(name)
        return current

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _manage(repo: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def start_daphne(
    var_dir: Path,
    shm_prefix: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    repo: Path = REPO,
) -> LiveDaphne:
    """Migrate a fresh state directory, create a viewer, start daphne; wait for ``/healthz``.

    ``repo`` is the checkout served (another one lets a benchmark compare two versions)."""
    port = port or _free_port()
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TICKERPLANT_", "DJANGO_", "DATABASE_URL"))
    }
    full_env = {
        **keep,
        "TICKERPLANT_VAR_DIR": str(var_dir),
        "TICKERPLANT_PORT": str(port),
        "TICKERPLANT_SHM_PREFIX": shm_prefix,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    _manage(repo, full_env, "migrate", "--noinput")
    token = _manage(repo, full_env, "shell", "-c", _CREATE_VIEWER).strip().splitlines()[-1]
    log = var_dir / "daphne.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), _ASGI_APP],
            cwd=repo,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveDaphne(port, token, shm_prefix, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited early:\n{server.log_text()}")
        with contextlib.suppress(OSError):
            if server.get("/healthz", timeout=2)[0] == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"/healthz never answered:\n{server.log_text()}")
