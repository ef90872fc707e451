"""The compiled accelerators: each one built (CI fails when one is not), the switch that turns
them off, and the Python source loaded beside the compiled module (docs/decisions/0117)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from pipelines import accel

PROBE = """
import json, sys
from pipelines import accel
names = accel.available()
modules = {name: sys.modules.get(name) for name in accel.one_source()}
for name in accel.one_source():
    __import__(name)
print(json.dumps({
    "one_source": {n: accel.compiled(sys.modules[n]) for n in accel.one_source()},
    "twins": {n: accel.load(n) is not None for n in accel.twins()},
}))
"""


def probe(env: dict[str, str]) -> dict[str, dict[str, bool]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=accel.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, dict[str, bool]] = json.loads(out)
    return result


def test_the_pure_python_switch_runs_every_module_from_its_python_source() -> None:
    found = probe({accel.PURE_ENV: "1"})
    assert found["one_source"] and not any(found["one_source"].values())
    assert not any(found["twins"].values())


def test_without_the_switch_every_built_module_runs_compiled() -> None:
    if accel.pure():
        pytest.skip(f"{accel.PURE_ENV} is set: this run checks the pure-Python path")
    found = probe({accel.PURE_ENV: ""})
    assert all(found["one_source"].values()), found["one_source"]
    assert all(found["twins"].values()), found["twins"]


def test_a_missing_twin_falls_back_to_python(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(accel.PURE_ENV, raising=False)
    name = "pipelines._no_such_accelerator"
    assert accel.load(name) is None
    assert accel.loaded()[name] is False
    assert "not built" in caplog.text


@pytest.mark.parametrize("name", accel.available())
def test_every_accelerator_is_built(name: str) -> None:
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
    if not accel.compiled(module):
        message = f"{name} runs from its .py: run .venv/bin/python setup.py build_ext --inplace"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_a_reference_is_the_python_source_beside_the_compiled_module() -> None:
    name = "pipelines.core.bookkeeper"
    module = importlib.import_module(name)
    reference = accel.reference(name)
    assert reference.__file__ is not None and reference.__file__.endswith("bookkeeper.py")
    assert accel.reference(name) is reference  # cached
    if accel.pure() or not accel.compiled(module):
        assert reference is module
        return
    assert reference is not module
    # What import gives is untouched: the module, and the attribute of its package.
    assert sys.modules[name] is module
    assert importlib.import_module("pipelines.core").bookkeeper is module
    # The reference runs on the other references: its health and book are Python too.
    health = accel.reference("pipelines.core.health")
    book = accel.reference("pipelines.core.book")
    assert not accel.compiled(health) and reference.BookHealth is health.BookHealth
    assert reference.Book is book.Book is book.PyBook
    keeper = reference.BookKeeper(
        book.Book("s", "X"), health.BookHealth("s", "X"), _rules("s", "X"), 10
    )
    assert type(keeper).__module__ == name and not accel.compiled(reference)


def _rules(stream: str, symbol: str) -> object:
    from pipelines.core.rules import RuleSet

    return RuleSet().bind(stream, symbol)


def test_setup_py_lists_the_same_modules_as_accel() -> None:
    code = "import setup; print(sorted(e.name for e in setup.extensions()))"
    # setup.py calls setup() at import; run its extensions() without building anything.
    script = (
        "import sys, setuptools; setuptools.setup = lambda **k: None; sys.argv = ['setup.py'];"
        "import Cython.Build; Cython.Build.cythonize = lambda modules, **k: modules;" + code
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=accel.ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(accel.available())
