"""A real platform (`manage.py runplatform`) on free ports in a temporary state directory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from platform_harness import (
    PASSWORD,
    REPO,
    USERNAME,
    Platform,
    manage,
    platform_env,
    stop_platform,
    wait_healthy,
)


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]
) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    env = platform_env(var_dir, port, free_port())
    manage(env, "migrate", "--noinput")
    token = (
        manage(
            env,
            "shell",
            "-c",
            (
                "from django.contrib.auth.models import User\n"
                "from rest_framework.authtoken.models import Token\n"
                f"u = User.objects.create_superuser({USERNAME!r}, 'e2e@localhost', {PASSWORD!r})\n"
                "print(Token.objects.create(user=u).key)\n"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    manage(env, "import_config", str(REPO / "config.toml"), "--if-empty")
    log = var_dir / "runplatform.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runplatform",
                "--port",
                str(port),
                "--workers",
                "2",
                "--grace",
                "8",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform = Platform(port, token, process, var_dir, log)
    try:
        wait_healthy(platform)
        yield platform
    finally:
        stop_platform(platform)
