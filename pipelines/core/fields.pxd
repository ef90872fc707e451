# C signatures of pipelines/core/fields.py (one source, docs/decisions/0117).
cimport cython


@cython.locals(offset=Py_ssize_t)
cpdef Py_ssize_t slot_offset(object cls, str name, object sample) except -2
cpdef bint is_subtype(object kind, object base) except -1
cpdef object read(object obj, Py_ssize_t offset, str name)
