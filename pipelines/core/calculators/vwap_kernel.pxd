# C types of pipelines/core/calculators/vwap_kernel.py (one source, docs/decisions/0117).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.rolling_kernel cimport RollingKernel


cdef class VwapKernel(RollingKernel):
    cdef double _ref
    cdef double _notional
    cdef double _volume

    @cython.locals(volume=double)
    cpdef object update_trade(self, double price, double size, int64_t ts=*)
    @cython.locals(size=double)
    cdef int _drop_oldest(self) except -1
    @cython.locals(ref=double, notional=double, volume=double, i=Py_ssize_t, k=Py_ssize_t)
    cdef int _recompute(self) except -1
