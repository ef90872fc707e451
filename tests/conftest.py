"""Root fixtures shared by every test folder.

- ``shared_data``: the sample captures (``TICKERPLANT_SAMPLE_DATA``, else ``<repo>/../shared/data``).
- ``free_port``: a callable returning a TCP port that is free on 127.0.0.1 right now.
- ``redis_url``, ``nats_url``, ``postgres_url``: the backing services that ``./test.sh`` starts or
  finds (``deploy/services.sh``) and exports; the standard local ports otherwise.
- ``chromium_executable``: Debian's Chromium for browser tests (``TICKERPLANT_CHROMIUM`` overrides).

Anything missing skips the test with a reason locally, and fails it when ``CI=true``: on CI a
skipped test would hide that the suite did not really run.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"

# Property tests: no per-example deadline (a loaded 2-core CI machine makes timings noise); on CI
# the examples are derandomized so a failure reproduces. HYPOTHESIS_PROFILE picks another.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))

# Tests never share /dev/shm ring names with a platform running on the same machine.
os.environ.setdefault("TICKERPLANT_SHM_PREFIX", f"tickerplant-test-{os.getpid()}")


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test, or fail it under CI=true."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be available)", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# sample data
# ---------------------------------------------------------------------------------------------
def sample_data_path() -> Path:
    configured = os.environ.get("TICKERPLANT_SAMPLE_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The directory of sample captures (fix/, sbe/, ws/, ...)."""
    path = sample_data_path()
    if not path.is_dir():
        unavailable(f"sample data not found at {path} (set TICKERPLANT_SAMPLE_DATA)")
    return path


# ---------------------------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------------------------
_issued_ports: set[int] = set()


def _free_port() -> int:
    # The kernel picks an unused port; remembering what we handed out keeps two calls in one
    # session from returning the same port before the first is bound.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _issued_ports:
            _issued_ports.add(port)
            return port
    raise RuntimeError("no free TCP port found on 127.0.0.1")


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """``free_port()`` returns a TCP port free on 127.0.0.1 (distinct within the session)."""
    return _free_port


# ---------------------------------------------------------------------------------------------
# services
# ---------------------------------------------------------------------------------------------
def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _exchange(host: str, port: int, send: bytes | None) -> bytes:
    """Connect, optionally send, return the first line the server sends ("" when it fails)."""
    try:
        with socket.create_connection((host, port), timeout=3) as sock:
            if send:
                sock.sendall(send)
            return sock.recv(4096).split(b"\r\n", 1)[0]
    except OSError:
        return b""


def redis_answers(url: str) -> bool:
    reply = _exchange(*_host_port(url, 6379), b"PING\r\n")
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def nats_answers(url: str) -> bool:
    return _exchange(*_host_port(url, 4222), None).startswith(b"INFO")


def configured_postgres_url() -> str:
    for name in ("TICKERPLANT_POSTGRES_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return DEFAULT_POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis server's URL (``TICKERPLANT_REDIS_URL``); shared by the session: prefix your keys."""
    url = os.environ.get("TICKERPLANT_REDIS_URL", DEFAULT_REDIS_URL)
    if not redis_answers(url):
        unavailable(f"Redis does not answer at {url} (run: bash deploy/services.sh up)")
    return url


@pytest.fixture(scope="session")
def nats_url() -> str:
    """A NATS server's URL (``TICKERPLANT_NATS_URL``), JetStream enabled by deploy/services.sh."""
    url = os.environ.get("TICKERPLANT_NATS_URL", DEFAULT_NATS_URL)
    if not nats_answers(url):
        unavailable(f"NATS does not answer at {url} (run: bash deploy/services.sh up)")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty database on the Postgres server, dropped after the session.

    The server is ``TICKERPLANT_POSTGRES_URL`` (else a postgres ``DATABASE_URL``, else the standard
    local port). A database of its own per session keeps concurrent test runs on one shared server
    from seeing each other's tables.
    """
    import psycopg  # imported here: only sessions that use Postgres pay for it

    server = configured_postgres_url()
    parts = urlsplit(server)
    admin = urlunsplit(parts._replace(path="/postgres"))
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        unavailable(f"Postgres does not answer at {admin} (run: bash deploy/services.sh up): {exc}")
    name = f"tickerplant_test_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------
# browser
# ---------------------------------------------------------------------------------------------
def find_chromium() -> str | None:
    configured = os.environ.get("TICKERPLANT_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Debian's Chromium (Playwright launches it; it never downloads a browser)."""
    path = find_chromium()
    if path is None:
        unavailable("Chromium is not installed (Debian: apt-get install chromium)")
    return path


def _is_browser_test(item: pytest.Item) -> bool:
    return item.get_closest_marker("e2e") is not None or "e2e" in Path(str(item.path)).parts


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # test.sh sets TICKERPLANT_SKIP_BROWSER when it could neither find nor install Chromium.
    skip_browser = ""
    if os.environ.get("TICKERPLANT_SKIP_BROWSER") == "1":
        skip_browser = (
            "TICKERPLANT_SKIP_BROWSER=1: Chromium is not available (apt-get install chromium)"
        )
    elif find_chromium() is None and not IN_CI:
        skip_browser = "Chromium is not installed (apt-get install chromium)"
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres_url" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if _is_browser_test(item):
            item.add_marker(pytest.mark.e2e)
            if skip_browser:
                item.add_marker(pytest.mark.skip(reason=skip_browser))


def pytest_report_header(config: pytest.Config) -> list[str]:
    data = sample_data_path()
    return [
        f"tickerplant: CI={IN_CI} sample data: {data if data.is_dir() else 'absent'}"
        f" chromium: {find_chromium() or 'absent'}",
        "tickerplant services: "
        f"redis={os.environ.get('TICKERPLANT_REDIS_URL', DEFAULT_REDIS_URL)} "
        f"nats={os.environ.get('TICKERPLANT_NATS_URL', DEFAULT_NATS_URL)} "
        f"postgres={configured_postgres_url()} "
        f"django database={os.environ.get('DATABASE_URL') or 'sqlite (settings default)'}",
    ]
