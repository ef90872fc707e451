"""The compiled accelerators, the switch that turns them off, and the reference beside them.

The hot path is compiled with Cython in two ways (docs/decisions/0112, 0117):

- **One source** (the rule): a plain Python module with an augmenting ``.pxd`` beside it
  (``pipelines/core/health.py`` + ``health.pxd``) is compiled *from that same file* into an
  extension module of the same name, which Python imports in place of the ``.py``. The ``.py``
  runs as it is when the extension is not built; the ``.pxd`` only adds C types.
- **Twins** (where the algorithm differs: the C book, the JSON tape parser, the FIX scanners): a
  ``_c<name>.pyx`` beside a reference module, which picks it once at import::

      _compiled = accel.load("pipelines.core._cbook")  # None: use the Python code

``TICKERPLANT_PURE_PYTHON`` (set to anything but ``0`` or empty) runs the Python code
everywhere: :func:`load` returns ``None`` and the one-source modules are imported from their
``.py`` (an import finder installed by ``pipelines/__init__.py``). A twin that was not built (no
compiler on this machine) is logged once and its reference runs.

:func:`reference` loads a module *as its Python source runs*, beside the compiled one in the same
process (for the agreement tests and the benches): the module and every accelerated module it
imports are re-imported from source into a namespace of their own, leaving the compiled ones
where they were.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = [
    "PURE_ENV",
    "available",
    "compiled",
    "install",
    "load",
    "loaded",
    "one_source",
    "pure",
    "reference",
    "twins",
]

PURE_ENV = "TICKERPLANT_PURE_PYTHON"
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ingest", "pipelines")

log = logging.getLogger(__name__)
_loaded: dict[str, bool] = {}
# Modules that chose a twin through load() (they must be re-imported for a reference).
_selectors: set[str] = set()
_references: dict[str, ModuleType] = {}
_reference_lock = threading.RLock()
_in_reference = False


def pure() -> bool:
    """Whether the compiled accelerators are switched off by the environment."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def load(name: str) -> ModuleType | None:
    """The compiled twin ``name``, or ``None`` when the Python code must run."""
    caller = sys._getframe(1).f_globals.get("__name__")
    if isinstance(caller, str):
        _selectors.add(caller)
    if pure() or _in_reference:
        _loaded.setdefault(name, False)
        if not _in_reference:
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


def compiled(module: ModuleType) -> bool:
    """Whether ``module`` runs as a compiled extension (a one-source module or a twin)."""
    file = getattr(module, "__file__", None) or ""
    return not file.endswith((".py", ".pyc"))


def loaded() -> dict[str, bool]:
    """Each accelerator imported so far, and whether it runs compiled (for status and logs)."""
    found = dict(_loaded)
    for name in one_source():
        module = sys.modules.get(name)
        if module is not None:
            found[name] = compiled(module)
    return found


def _sources(suffix: str) -> Iterator[Path]:
    for package in PACKAGES:
        yield from (ROOT / package).rglob(f"*{suffix}")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def one_source() -> list[str]:
    """Modules compiled from their own ``.py`` (an augmenting ``.pxd`` beside it)."""
    return sorted(
        _module_name(path) for path in _sources(".pxd") if path.with_suffix(".py").is_file()
    )


def twins() -> list[str]:
    """The compiled twins (``_c*.pyx``), each beside the reference it replaces."""
    return sorted(_module_name(path) for path in _sources(".pyx"))


def available() -> list[str]:
    """Every extension module the build makes: one-source modules and twins."""
    return sorted(one_source() + twins())


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Imports a one-source module from its ``.py`` even where its extension is built (and,
    under ``TICKERPLANT_PURE_PYTHON``, refuses the twins: nothing compiled runs)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not fullname.startswith(PACKAGES):
            return None
        base = ROOT.joinpath(*fullname.split("."))
        if pure() and base.with_suffix(".pyx").is_file():
            # A twin may cimport one-source modules, which run as Python here: it cannot load.
            raise ModuleNotFoundError(
                f"{fullname} is a compiled twin and {PURE_ENV} switches them off", name=fullname
            )
        source = base.with_suffix(".py")
        if not base.with_suffix(".pxd").is_file() or not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


_finder = _SourceFinder()


def install() -> None:
    """Serve one-source modules from their ``.py`` when the accelerators are switched off
    (called by ``pipelines/__init__.py`` and ``ingest/__init__.py``, before any of them)."""
    if pure() and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def _accelerated(name: str, module: ModuleType) -> bool:
    # What a reference must re-import: compiled one-source modules, and the modules that chose
    # a twin (their module-level choice is made at import).
    return name in _selectors or (
        name.startswith(PACKAGES)
        and compiled(module)
        and (ROOT.joinpath(*name.split(".")).with_suffix(".pxd").is_file())
    )


@contextmanager
def _source_imports() -> Iterator[None]:
    global _in_reference
    _in_reference = True
    sys.meta_path.insert(0, _finder)
    try:
        yield
    finally:
        sys.meta_path.remove(_finder)
        _in_reference = False


def reference(name: str) -> ModuleType:
    """Module ``name`` as its Python source runs, with the Python code of every accelerated
    module it imports, loaded beside the compiled ones (which stay what ``import`` gives).

    The first call imports ``name`` normally (so every plain module it needs is loaded once),
    then re-imports the accelerated modules from source in a private namespace; the result is
    cached. Under ``TICKERPLANT_PURE_PYTHON`` this is just the module.
    """
    module = importlib.import_module(name)
    if pure():
        return module
    with _reference_lock:
        found = _references.get(name)
        if found is not None:
            return found
        before = dict(sys.modules)
        hot = {n for n, m in before.items() if m is not None and _accelerated(n, m)}
        hot.add(name)
        # The package attributes that the re-imports rebind (``pipelines.core.health``).
        parents = {
            n: getattr(sys.modules.get(n.rpartition(".")[0]), n.rpartition(".")[2], None)
            for n in hot
        }
        for n in hot:
            sys.modules.pop(n, None)
        # References already made are reused, so two references share their dependencies.
        sys.modules.update({n: m for n, m in _references.items() if n in hot})
        try:
            with _source_imports():
                importlib.import_module(name)
            fresh = {
                n: m
                for n, m in sys.modules.items()
                if m is not None and (n in hot or n not in before)
            }
        finally:
            for n in list(sys.modules):
                if n in hot or n not in before:
                    del sys.modules[n]
            sys.modules.update({n: before[n] for n in hot if n in before})
            for n, value in parents.items():
                parent = sys.modules.get(n.rpartition(".")[0])
                if parent is not None and value is not None:
                    setattr(parent, n.rpartition(".")[2], value)
        _references.update(fresh)
        return _references[name]
