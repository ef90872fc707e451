# Numbers on the tape for the compiled mapped decoder (_cjson_numbers.pyx): numbers.scale,
# timestamp_ns and compile_int of a node, each message's price and size decimals, and the memo
# of int objects.
cimport cython
from cpython.long cimport PyLong_FromLongLong
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport int64_t, uint64_t

from ._cjson_tape cimport Tape

cdef object time_ns(Tape t, int i, str unit, int decimals)
cdef object call_time(object found, str unit)
cdef object int_value(Tape t, int i)
cdef object int_object(object found)
cdef int64_t scale64(Tape t, int i, int decimals, bint scaled) except? -1


@cython.final
cdef class MessageScales:
    cdef list decimals          # the symbol's Scales list: [price_decimals, size_decimals]
    cdef object price, size     # this message's decimals, as the events hold them
    cdef int cprice, csize      # the same as C ints (set by check)
    cdef bint learn_price, learn_size

    cdef int load(self, list decimals) except -1
    cdef void learn(self, int price, int size) noexcept
    cdef int check(self) except -1
    cdef int commit(self) except -1


@cython.final
cdef class Ints:
    cdef int64_t values[1024]
    cdef PyObject* objects[1024]


cdef inline object int_of(Ints ints, int64_t value):
    """An int object equal to ``value``, the same one as last time when the value repeats (see
    Ints)."""
    cdef unsigned int slot = <unsigned int>((<uint64_t>value * 0x9E3779B97F4A7C15ULL) >> 54)
    cdef PyObject* found = ints.objects[slot]
    if found != NULL and ints.values[slot] == value:
        return <object>found
    made = PyLong_FromLongLong(value)
    Py_INCREF(made)
    Py_XDECREF(found)
    ints.objects[slot] = <PyObject*>made
    ints.values[slot] = value
    return made
