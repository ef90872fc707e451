"""The data plane imports without Django, and every command answers --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import ingest, pipelines
from pipelines import accel
# Under TICKERPLANT_PURE_PYTHON the compiled twins refuse to load (their Python code runs).
skipped = set(accel.twins()) if accel.pure() else set()
for package in (pipelines, ingest):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name not in skipped:
            importlib.import_module(module.name)
print("django" in sys.modules, any(m.startswith("django.") for m in sys.modules))
"""


def test_importing_pipelines_and_ingest_never_imports_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("command", [[], ["worker"], ["run"]])
def test_every_command_answers_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "usage: python -m pipelines" in result.stdout
