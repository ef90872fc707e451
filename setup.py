"""Builds Tickerplant's optional compiled accelerators in place (docs/decisions/0112, 0117).

Two kinds of source under ``ingest/`` and ``pipelines/`` become extension modules beside them:

- a ``.py`` with an augmenting ``.pxd`` of the same name (Cython's pure-Python mode): the module
  is compiled from its own source (``pipelines/core/health.py`` -> ``pipelines.core.health``,
  which Python then imports instead of the ``.py``); the ``.pxd`` only adds C types;
- a ``_c*.pyx`` twin (``ingest/protocols/fix/_cparser.pyx`` -> ``ingest.protocols.fix._cparser``)
  where the compiled algorithm differs from its Python reference.

The Python code runs instead on a machine without a compiler, or with
``TICKERPLANT_PURE_PYTHON=1`` (see :mod:`pipelines.accel`).

    .venv/bin/python setup.py build_ext --inplace     # ./test.sh and ./run_main.sh do this

setuptools skips an extension whose sources are older than its built module, so running it again
costs about a second when nothing changed. ``TICKERPLANT_BUILD_ONLY=fix`` builds only the modules
whose path contains ``fix`` (while working on one of them).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parent
PACKAGES = ("ingest", "pipelines")

# A one-source module compiles with Python's semantics (negative indexes, IndexError,
# ZeroDivisionError, floor division and modulo on negative ints), so the same lines mean the
# same thing compiled or not; a module may switch a check off for a function it has proved
# in-bounds (``@cython.boundscheck(False)`` in its .pxd). Its annotations are for mypy: its C
# types are in the .pxd alone.
ONE_SOURCE_DIRECTIVES = {
    "language_level": 3,
    "embedsignature": True,
    # Methods as C method descriptors, as the twins had: Python calls a bound kernel method
    # (the pipeline's feeds) without a cyfunction's extra dispatch (~100 instructions a call).
    "binding": False,
    "annotation_typing": False,
    # ``if not cython.compiled: ...`` branches are the Python side of one source.
    "warn.unreachable": False,
}
# The twins index within lengths they have checked themselves, and their tests run the same
# inputs through the Python reference.
TWIN_DIRECTIVES = {
    "language_level": 3,
    # No generated pickle or doctest helpers: nothing pickles a twin, and their stubs
    # (checked by mypy.stubtest, tests/pipelines/test_stubs.py) would have to list them.
    "auto_pickle": False,
    "autotestdict": False,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}
# Python never fuses a multiply and an add into one rounding; neither may the compiled code (an
# FMA-capable -march would let gcc contract a * b + c and change the last bit of a result).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-Wno-unused-function"]


def sources() -> list[Path]:
    """Every module source the build compiles (relative to the repository root)."""
    found: list[Path] = []
    for package in PACKAGES:
        found += (ROOT / package).rglob("*.pyx")
        found += (
            path.with_suffix(".py")
            for path in (ROOT / package).rglob("*.pxd")
            if path.with_suffix(".py").is_file()
        )
    return sorted(path.relative_to(ROOT) for path in found)


def extensions() -> list[Extension]:
    only = os.environ.get("TICKERPLANT_BUILD_ONLY", "")
    selected = [path for path in sources() if only in str(path)]
    if not selected:
        return []
    from Cython.Build import cythonize

    def extension(path: Path) -> Extension:
        name = ".".join(path.with_suffix("").parts)
        return Extension(name, [str(path)], extra_compile_args=COMPILE_ARGS)

    one_source = [extension(path) for path in selected if path.suffix == ".py"]
    twins = [extension(path) for path in selected if path.suffix == ".pyx"]
    built: list[Extension] = []
    for modules, directives in ((one_source, ONE_SOURCE_DIRECTIVES), (twins, TWIN_DIRECTIVES)):
        if modules:
            built += cythonize(modules, compiler_directives=directives, quiet=True)
    return built


setup(ext_modules=extensions())
