# C types of pipelines/core/calculators/exact.py (one source, docs/decisions/0117).
cimport cython


@cython.locals(total=double, status=int)
cpdef double fsum(double[::1] values, Py_ssize_t n, bint fast=*) except? -1.0

@cython.locals(total=double)
cpdef bint fsum_certifies(double[::1] values, Py_ssize_t n) except -1
