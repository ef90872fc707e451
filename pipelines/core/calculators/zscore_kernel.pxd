# C types of pipelines/core/calculators/zscore_kernel.py (one source, docs/decisions/0117).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.rolling_kernel cimport RollingKernel


cdef class ZScoreKernel(RollingKernel):
    cdef double _ref
    cdef double _mean
    cdef double _m2
    cdef Py_ssize_t _run

    @cython.locals(n=Py_ssize_t, d=double, delta=double)
    cpdef object update(self, double value, int64_t ts=*)
    @cython.locals(value=double, n=Py_ssize_t, mean=double, previous=double)
    cdef int _drop_oldest(self) except -1
    @cython.locals(n=Py_ssize_t, i=Py_ssize_t, ref=double, mean=double, v=double)
    cdef int _recompute(self) except -1
