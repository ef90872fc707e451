"""The optional compiled accelerators, and the switch that turns them off.

A hot-path module may have a compiled twin (Cython, ``*.pyx`` beside it, built in place by
``setup.py``; docs/decisions/0112). The pure-Python module is the reference implementation: the
twin must produce the same events and state for every input, and the test suite runs both paths
(``./test.sh`` repeats the hot-path tests with ``TICKERPLANT_PURE_PYTHON=1``).

A module picks its implementation once, at import::

    from pipelines import accel

    _compiled = accel.load("ingest.protocols.fix._cparse")  # None: use the Python code

:func:`load` returns ``None`` when ``TICKERPLANT_PURE_PYTHON`` is set (to anything but ``0`` or
empty) or when the twin was not built (no compiler on this machine); the latter is logged once.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

__all__ = ["PURE_ENV", "available", "load", "loaded", "pure"]

PURE_ENV = "TICKERPLANT_PURE_PYTHON"
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ingest", "pipelines")

log = logging.getLogger(__name__)
_loaded: dict[str, bool] = {}


def pure() -> bool:
    """Whether the compiled accelerators are switched off by the environment."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def load(name: str) -> ModuleType | None:
    """The compiled module ``name``, or ``None`` when the Python code must run."""
    if pure():
        _loaded[name] = False
        return None
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        if name not in _loaded:
            log.warning(
                "accelerator %s is not built (%s): running the pure-Python code; "
                "build it with `.venv/bin/python setup.py build_ext --inplace`",
                name,
                error,
            )
        _loaded[name] = False
        return None
    _loaded[name] = True
    return module


def loaded() -> dict[str, bool]:
    """Each accelerator asked for so far, and whether it runs compiled (for status and logs)."""
    return dict(_loaded)


def available() -> list[str]:
    """The module names of every accelerator source in the tree (``*.pyx``)."""
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.pyx")
    )
