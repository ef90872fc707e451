# The reference state the compiled mapped decoder shares (_cjson_state.pyx): the hot attributes
# of the Sequencer and DecoderStats written at their slots, and each symbol's Scales list and
# book view (BookView, SymbolSync) looked up once.
cimport cython
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport uint64_t

from ._cjson_tape cimport Tape


# Counters and the sequencer are bumped on every frame. They live in __slots__ / msgspec Struct
# fields, i.e. member descriptors at a fixed offset in the object: reading and writing the slot
# costs a few ns against ~40 ns for a getattr + setattr pair. An offset of -1 (member_offset
# found no plain object member) means getattr / setattr.
cdef Py_ssize_t member_offset(cls, str name) except -2


cdef inline object slot_get(object obj, Py_ssize_t offset, str name):
    cdef PyObject* found
    if offset < 0:
        return getattr(obj, name)
    found = (<PyObject**>((<char*><PyObject*>obj) + offset))[0]
    if found == NULL:
        return getattr(obj, name)  # unset: let Python raise its AttributeError
    return <object>found


cdef inline int slot_set(object obj, Py_ssize_t offset, str name, object value) except -1:
    cdef PyObject** slot
    cdef PyObject* old
    if offset < 0:
        setattr(obj, name, value)
        return 0
    slot = <PyObject**>((<char*><PyObject*>obj) + offset)
    old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)
    return 0



@cython.final
cdef class Slots:
    cdef Py_ssize_t messages, events, ignored, seq


@cython.final
cdef class Sym:
    cdef str symbol
    cdef uint64_t k8           # the symbol's first 8 bytes (ASCII symbols, see SymbolCache)
    cdef list decimals         # Scales._by_symbol[symbol]: [price_decimals, size_decimals]
    cdef object book, sync     # the book handler's (BookView, SymbolSync), None until known
    cdef dict bid_levels, ask_levels, ids
    cdef list bid_keys, ask_keys

    cdef int bind(self, state) except -1


@cython.final
cdef class SymbolCache:
    cdef list items
    cdef dict by_name

    cdef Sym at(self, Tape t, int i)
    cdef Sym named(self, str symbol)
