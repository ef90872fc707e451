"""The compiled accelerators: each one built (CI fails when one is not), and the switch off."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from pipelines import accel


def test_pure_python_switch_turns_every_accelerator_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accel.PURE_ENV, "1")
    for name in accel.available():
        assert accel.load(name) is None
        assert accel.loaded()[name] is False


def test_a_missing_accelerator_falls_back_to_python(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(accel.PURE_ENV, raising=False)
    name = "pipelines._no_such_accelerator"
    assert accel.load(name) is None
    assert accel.loaded()[name] is False
    assert "not built" in caplog.text


@pytest.mark.parametrize("name", accel.available() or ["(none yet)"])
def test_every_accelerator_is_built(name: str) -> None:
    if name == "(none yet)":
        pytest.skip("no *.pyx accelerators in the tree")
    if accel.pure():
        pytest.skip(f"{accel.PURE_ENV} is set: this run checks the pure-Python path")
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        message = (
            f"{name} is not built ({error}); run .venv/bin/python setup.py build_ext --inplace"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert module.__file__ is not None and module.__file__.endswith(".so")


def test_setup_py_lists_the_same_modules_as_accel() -> None:
    code = "import setup; print(sorted(e.name for e in setup.extensions()))"
    # setup.py calls setup() at import; run its extensions() without building anything.
    script = (
        "import sys, setuptools; setuptools.setup = lambda **k: None; sys.argv = ['setup.py'];"
        + code
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=accel.ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(accel.available())
