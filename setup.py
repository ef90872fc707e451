"""Builds Tickerplant's optional compiled accelerators in place (docs/decisions/0112).

Every ``*.pyx`` under ``ingest/`` and ``pipelines/`` becomes an extension module beside its
source (``ingest/protocols/fix/_cparse.pyx`` -> ``ingest.protocols.fix._cparse``). The pure-Python
modules stay the reference implementation and the fallback: a machine without a compiler, or
``TICKERPLANT_PURE_PYTHON=1``, runs them instead (see :mod:`pipelines.accel`).

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

# Bounds and wraparound checks are off: every accelerator indexes within lengths it has checked
# itself, and its tests run the same inputs through the pure-Python reference.
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}


def extensions() -> list[Extension]:
    sources = sorted(p.relative_to(ROOT) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.pyx"))
    only = os.environ.get("TICKERPLANT_BUILD_ONLY", "")
    sources = [path for path in sources if only in str(path)]
    if not sources:
        return []
    from Cython.Build import cythonize

    modules = [
        Extension(
            ".".join(path.with_suffix("").parts),
            [str(path)],
            extra_compile_args=["-O3", "-Wno-unused-function"],
        )
        for path in sources
    ]
    return cythonize(modules, compiler_directives=DIRECTIVES, quiet=True)


setup(ext_modules=extensions())
