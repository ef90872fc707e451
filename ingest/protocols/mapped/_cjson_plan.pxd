# The compiled mapping plan of the compiled mapped decoder (_cjson_plan.pyx): paths and fields
# built from the Mapping structs once, resolved on each frame's tape.
cimport cython
from libc.stdint cimport uint64_t

from ._cjson_tape cimport Tape

cdef enum:
    MAX_STEPS = 8


@cython.final
cdef class CPath:
    cdef int nsteps
    cdef int kinds[MAX_STEPS]
    cdef Py_ssize_t indexes[MAX_STEPS]
    cdef const char* keys[MAX_STEPS]
    cdef Py_ssize_t lengths[MAX_STEPS]
    cdef uint64_t k8s[MAX_STEPS]
    cdef list _keep
    cdef object slice_
    cdef readonly bint ends_slice
    cdef readonly bint from_frame  # "$...": resolved from Tape.frame, not from the node given

    cdef int resolve(self, Tape t, int i) noexcept


@cython.final
cdef class CField:
    cdef CPath path
    cdef bint absent, is_const, simple, required
    cdef object const, default
    cdef dict table
    cdef str name, unit

    cdef int node(self, Tape t, int i) except -2
    cdef object value(self, Tape t, int i)


@cython.final
cdef class CTime:
    cdef CField field
    cdef str unit
    cdef int decimals

    cdef object get(self, Tape t, int i)


@cython.final
cdef class CInt:
    cdef CField field

    cdef object get(self, Tape t, int i)


cdef CField simple_field(field, str name)
