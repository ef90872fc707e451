"""The hand-written type stubs of the compiled twins match the built modules (mypy.stubtest).

Only twins have stubs (a one-source module is its own ``.py``: docs/internal/one-source.md). A
stub that drifts from its module would let mypy check callers against an API that does not
exist; stubtest imports the built module and compares every name and signature.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from pipelines import accel


def stubbed_twins() -> list[str]:
    return [
        name
        for name in accel.twins()
        if accel.ROOT.joinpath(*name.split(".")).with_suffix(".pyi").is_file()
    ]


def test_every_stub_belongs_to_a_twin() -> None:
    stubs = {
        ".".join(path.relative_to(accel.ROOT).with_suffix("").parts)
        for package in accel.PACKAGES
        for path in (accel.ROOT / package).rglob("*.pyi")
    }
    assert stubs == set(stubbed_twins()), "a .pyi without a .pyx twin beside it"


def test_every_stub_matches_its_built_module() -> None:
    if accel.pure():
        pytest.skip(f"{accel.PURE_ENV} is set: no compiled module to compare")
    names = stubbed_twins()
    unbuilt = [name for name in names if not accel.compiled(importlib.import_module(name))]
    if unbuilt:
        message = f"not built: {unbuilt}; run .venv/bin/python setup.py build_ext --inplace"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # One run for all of them: mypy's start-up is most of the cost.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", *names],
        cwd=accel.ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
