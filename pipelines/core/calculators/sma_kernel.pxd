# C types of pipelines/core/calculators/sma_kernel.py (one source, docs/decisions/0117).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.rolling_kernel cimport RollingKernel


cdef class SmaKernel(RollingKernel):
    cdef double _ref
    cdef double _sum

    cpdef object update(self, double value, int64_t ts=*)
    cdef int _drop_oldest(self) except -1
    @cython.locals(ref=double, total=double, i=Py_ssize_t)
    cdef int _recompute(self) except -1
