"""Helpers for the replay tests: run the command in-process through the real parser."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pipelines.__main__ import build_parser
from pipelines.replay.cli import run


class Result(NamedTuple):
    code: int
    stdout: bytes
    stderr: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    @property
    def stats(self) -> dict[str, Any]:
        (line,) = self.lines
        assert line["kind"] == "stats"
        return line


Replay = Callable[..., Result]


@pytest.fixture(autouse=True, scope="session")
def _dictionary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled FIX dictionaries go to a temporary cache, not the developer's ~/.cache."""
    previous = os.environ.get("TICKERPLANT_CACHE_DIR")
    os.environ["TICKERPLANT_CACHE_DIR"] = str(tmp_path_factory.mktemp("fix-cache"))
    yield
    if previous is None:
        os.environ.pop("TICKERPLANT_CACHE_DIR", None)
    else:
        os.environ["TICKERPLANT_CACHE_DIR"] = previous


@pytest.fixture
def replay() -> Replay:
    """``replay(FILE, "--protocol", ...)`` -> Result, as ``python -m pipelines replay`` would."""

    def invoke(*argv: str | Path) -> Result:
        args = build_parser().parse_args(["replay", *map(str, argv)])
        out, err = io.BytesIO(), io.StringIO()
        code = run(args, stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


@pytest.fixture(scope="session")
def cme(shared_data: Path) -> Path:
    return shared_data / "sbe" / "cme-mdp3"


@pytest.fixture(scope="session")
def ws(shared_data: Path) -> Path:
    return shared_data / "ws"


@pytest.fixture(scope="session")
def fix(shared_data: Path) -> Path:
    return shared_data / "fix"
