# C types of pipelines/core/calculators/volatility_kernel.py (one source, docs/decisions/0117).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.rolling_kernel cimport RollingKernel


cdef class RealizedVolKernel(RollingKernel):
    cdef double _sum_sq
    cdef double _carry
    cdef double _prev
    cdef int64_t _prev_ts
    cdef int64_t _start
    cdef public bint annualize
    cdef public double year_seconds

    cpdef configure(self, bint annualize, double year_seconds)
    @cython.locals(prev=double, prev_ts=int64_t, ratio=double, r=double, sum_sq=double,
                   elapsed=double)
    cpdef object update(self, double value, int64_t ts=*)
    @cython.locals(r=double)
    cdef int _drop_oldest(self) except -1
    @cython.locals(total=double, new=double)
    cdef void _add(self, double term) noexcept
    @cython.locals(i=Py_ssize_t, r=double)
    cdef int _recompute(self) except -1
