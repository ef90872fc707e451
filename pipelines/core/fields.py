"""Event fields read at their slot offsets by compiled code, checked against this interpreter.

An event is a msgspec Struct: its fields are object slots (member descriptors, like
``__slots__``), so once an object's type is known to derive from the event base, a field is the
pointer at the descriptor's offset — a load instead of a ~60-instruction attribute lookup. That
relies on CPython's member-descriptor layout: :func:`slot_offset` reads the offset and checks it
on a sample object against ``getattr`` when the module is imported; when anything does not hold
(another interpreter, another msgspec), it answers -1 and :func:`read` takes ``getattr``, with
one warning. Running as Python, every read is ``getattr``.

One source (docs/decisions/0117): ``fields.pxd`` gives the compiled C signatures.
"""

from __future__ import annotations

import logging
from typing import Any

import cython

if cython.compiled:
    from cython.cimports.cpython.object import PyTypeObject
    from cython.cimports.pipelines.core._cfields import TP_FIELD, PyType_IsSubtype, tp_field_offset

__all__ = ["is_subtype", "read", "slot_offset"]

log = logging.getLogger(__name__)


def slot_offset(cls: type, name: str, sample: object) -> int:
    """Where ``cls``'s field ``name`` sits in an instance, if compiled code may read it there
    (checked on ``sample``), else -1."""
    if not cython.compiled:
        return -1
    offset: int = tp_field_offset(getattr(cls, name, None))
    if offset >= 0:
        found = TP_FIELD(sample, offset)
        if found != cython.NULL and cython.cast(object, found) is getattr(sample, name):
            return offset
    log.warning(
        "%s.%s is not a plain object slot under this interpreter: compiled code reads it with "
        "getattr (slower, same result)",
        cls.__name__,
        name,
    )
    return -1


def is_subtype(kind: type, base: type) -> bool:
    """``issubclass(kind, base)`` on the type's MRO (no ``__subclasscheck__`` of a metaclass)."""
    if not isinstance(kind, type) or not isinstance(base, type):
        return False
    if cython.compiled:
        subtype: bool = PyType_IsSubtype(
            cython.cast(cython.pointer(PyTypeObject), kind),
            cython.cast(cython.pointer(PyTypeObject), base),
        )
        return subtype
    return base in kind.__mro__


def read(obj: object, offset: int, name: str) -> Any:
    """``obj.<name>``, read at ``offset`` (from :func:`slot_offset`, for a type the caller has
    checked) when that is known; an empty slot raises AttributeError through ``getattr``."""
    if cython.compiled and offset >= 0:
        found = TP_FIELD(obj, offset)
        if found != cython.NULL:
            return cython.cast(object, found)
    return getattr(obj, name)
