# C types of pipelines/core/calculators/ema_kernel.py (one source, docs/decisions/0117).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.kernel cimport SeriesKernel


cdef class EmaKernel(SeriesKernel):
    cdef public double alpha
    cdef double _value
    cdef bint _seeded

    cpdef object update(self, double value, int64_t ts=*)


cdef class EmaTimeKernel(SeriesKernel):
    cdef public double rate  # per ns
    cdef public int64_t last_ts
    cdef double _value
    cdef bint _seeded

    cpdef object update(self, double value, int64_t ts=*)
