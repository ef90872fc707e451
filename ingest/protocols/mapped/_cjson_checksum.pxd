# Book checksums in C for the compiled mapped decoder (_cjson_checksum.pyx).
from ._cjson_state cimport Sym


cdef class Checksum:
    cdef int depth, order
    cdef bint digits, signed
    cdef bytes separator
    cdef char* buffer
    cdef Py_ssize_t capacity

    cdef Py_ssize_t _level(self, Py_ssize_t at, Sym sym, int side, Py_ssize_t k, int pd,
                           int sd) except -2
    cdef object compute(self, Sym sym, object pd_value, object sd_value)


cdef Checksum compile_checksum(spec)
