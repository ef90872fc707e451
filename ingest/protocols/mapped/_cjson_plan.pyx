# cython: language_level=3
"""The compiled mapping plan of the compiled mapped decoder (``_cjson_decoder``, decision 0116).

Paths (``paths.compile_path``) and fields (``compile.compile_field``, ``context.compile_time``,
``context.compile_int``) built once from the same Mapping structs the reference compiles, and
resolved on each frame's tape. A construct left to the reference raises Unsupported when the
plan is built.
"""

cimport cython
from libc.stdint cimport uint64_t
from libc.string cimport memcmp

from ._cjson_numbers cimport call_time, int_object, int_value, time_ns
from ._cjson_tape cimport K_ARR, K_OBJ, Node, decoded, is_scalar, k8, memo, text

from ._cjson_tape import Bail
from .paths import MISSING, anchored, parse_path
from .schema import FieldSpec


cdef extern from "Python.h":
    const char* PyBytes_AS_STRING(object)
    Py_ssize_t PyBytes_GET_SIZE(object)


class Unsupported(Exception):
    """At compile time: a mapping construct this twin leaves to the reference code."""


cdef enum:
    S_KEY = 1
    S_INDEX = 2
    S_SLICE = 3

_UNIT_DECIMALS = {"s": 9, "ms": 6, "us": 3, "ns": 0}


@cython.final
cdef class CPath:
    """paths.compile_path on the tape: key, index and (last-step) slice steps."""

    def __init__(self, str source):
        steps = parse_path(source)
        if len(steps) > MAX_STEPS:
            raise Unsupported(f"path {source!r} is too long")
        self._keep = []
        self.nsteps = len(steps)
        self.ends_slice = False
        self.from_frame = anchored(source)[0]
        for k, step in enumerate(steps):
            if type(step) is str:
                encoded = step.encode("utf-8")
                self._keep.append(encoded)
                self.kinds[k] = S_KEY
                self.keys[k] = PyBytes_AS_STRING(encoded)
                self.lengths[k] = PyBytes_GET_SIZE(encoded)
                self.k8s[k] = k8(self.keys[k], self.lengths[k])
            elif type(step) is int:
                self.kinds[k] = S_INDEX
                self.indexes[k] = step
            else:
                if k != len(steps) - 1:
                    # A slice in the middle yields a list that later steps index: rare, and
                    # left to the reference.
                    raise Unsupported(f"path {source!r}: a slice before the last step")
                self.kinds[k] = S_SLICE
                self.slice_ = step
                self.ends_slice = True

    cdef int resolve(self, Tape t, int i) noexcept:
        """The node at the path from node ``i``, or -1 for MISSING. A path ending in a slice
        gives the array it slices (the slice itself is taken by ``elements``)."""
        cdef int k, m, found, count, base
        cdef Py_ssize_t index, klen
        cdef uint64_t key8
        cdef Node* nodes = t.nodes
        cdef const char* key
        if self.from_frame:
            i = t.frame
        for k in range(self.nsteps):
            if self.kinds[k] == S_KEY:
                if nodes[i].kind != K_OBJ:
                    return -1
                key = self.keys[k]
                klen = self.lengths[k]
                found = -1
                base = memo(t, i)
                if base >= 0:
                    key8 = self.k8s[k]
                    # The last of duplicate keys wins, as in a decoded dict.
                    for m in range(base, base + nodes[i].count):
                        if (t.memo_k8[m] == key8 and t.memo_len[m] == klen
                                and (klen <= 8 or memcmp(t.s + t.memo_start[m], key, klen) == 0)):
                            found = t.memo_value[m]
                    if found < 0:
                        return -1
                    i = found
                    continue
                m = i + 1
                for _ in range(nodes[i].count):
                    # Length, then first byte inline: most keys differ there (and are short).
                    if (nodes[m].end - nodes[m].start == klen
                            and (klen == 0 or t.s[nodes[m].start] == <unsigned char>key[0])
                            and (klen <= 1 or memcmp(t.s + nodes[m].start, key, klen) == 0)):
                        found = m + 1
                    m = nodes[m + 1].next
                if found < 0:
                    return -1
                i = found
            elif self.kinds[k] == S_INDEX:
                if nodes[i].kind != K_ARR:
                    return -1
                count = nodes[i].count
                index = self.indexes[k]
                if index < 0:
                    index += count
                if index < 0 or index >= count:
                    return -1
                m = i + 1
                for _ in range(index):
                    m = nodes[m].next
                i = m
            else:
                if nodes[i].kind != K_ARR:
                    return -1
        return i


@cython.final
cdef class CField:
    """compile.compile_field on the tape. ``simple``: the value is the path's node itself."""

    def __init__(self, field, str name, bint required=True):
        self.name = name
        self.required = required
        self.absent = field is None
        self.is_const = False
        self.simple = False
        self.unit = "ns"
        if field is None:
            return
        spec = FieldSpec(path=field) if isinstance(field, str) else field
        self.unit = spec.unit
        if spec.const is not None:
            self.is_const = True
            self.const = spec.const
            return
        self.path = CPath(spec.path)
        if self.path.ends_slice:
            raise Unsupported(f"{name}: a slice where a value is expected")
        self.default = spec.default
        self.table = dict(spec.map) if spec.map else None
        self.simple = self.table is None and self.default is None

    cdef int node(self, Tape t, int i) except -2:
        """A simple field's node, -1 when absent and optional; bail when absent and required."""
        cdef int found = self.path.resolve(t, i)
        if found < 0 and self.required:
            raise Bail()
        return found

    cdef object value(self, Tape t, int i):
        """The field's Python value as the reference getter returns it (MISSING when absent)."""
        cdef int found
        if self.absent:
            return MISSING
        if self.is_const:
            return self.const
        found = self.path.resolve(t, i)
        if found < 0:
            if self.default is not None:
                return self.default
            if self.required:
                raise Bail()
            return MISSING
        if self.table is None:
            return decoded(t, found)
        if not is_scalar(t, found):
            raise Bail()
        mapped = self.table.get(text(t, found))
        if mapped is None:
            if self.default is not None:
                return self.default
            raise Bail()
        return mapped


@cython.final
cdef class CTime:
    """context.compile_time: integer ns, 0 when the mapping or the message has none."""

    def __init__(self, field):
        self.field = None if field is None else CField(field, "ts_exchange", False)
        self.unit = "ns" if field is None else self.field.unit
        self.decimals = _UNIT_DECIMALS.get(self.unit, -1)

    cdef object get(self, Tape t, int i):
        cdef int found
        if self.field is None:
            return 0
        if self.field.simple:
            found = self.field.path.resolve(t, i)
            return 0 if found < 0 else time_ns(t, found, self.unit, self.decimals)
        return call_time(_none_for_missing(self.field.value(t, i)), self.unit)


cdef inline object _none_for_missing(object found):
    return None if found is MISSING else found


@cython.final
cdef class CInt:
    """context.compile_int: an integer (digits in strings too), 0 when absent."""

    def __init__(self, field, str name, bint required=False):
        self.field = None if field is None else CField(field, name, required)

    cdef object get(self, Tape t, int i):
        cdef int found
        if self.field is None:
            return 0
        if self.field.simple:
            found = self.field.node(t, i)
            return 0 if found < 0 else int_value(t, found)
        return int_object(self.field.value(t, i))


cdef CField simple_field(field, str name):
    """A field that must be a path (a price or size): a map or a constant, legal and rare, is
    left to the reference."""
    compiled = CField(field, name)
    if not compiled.simple:
        raise Unsupported(f"{name}: only a path is compiled")
    return compiled
