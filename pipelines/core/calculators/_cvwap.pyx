# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twin of :class:`pipelines.core.calculators.vwap.VwapKernel` (decision 0113): same
state, same float operations in the same order as vwap.py, so bit-identical values."""
from libc.stdint cimport int64_t

from pipelines.core.calculators._cwindow cimport RollingKernel


cdef class VwapKernel(RollingKernel):
    cdef double _ref
    cdef double _notional  # sum of size * (price - ref)
    cdef double _volume

    def __cinit__(self):
        self._ncols = 2  # prices, sizes

    def update_trade(self, double price, double size, int64_t ts=0):
        if not self._n:
            self._ref = price
        self._push(ts, price, size, 0.0)
        self._notional += size * (price - self._ref)
        self._volume += size
        self._evict(ts)
        cdef double volume = self._volume
        return self._ref + self._notional / volume if volume > 0 else None

    cdef int _drop_oldest(self) except -1:
        cdef double size = self._c1[self._head]
        self._notional -= size * (self._c0[self._head] - self._ref)
        self._volume -= size
        self._pop()
        return 0

    cdef int _recompute(self) except -1:
        # sum() left to right from 0 (Python 3.11's float sum), around the newest price.
        cdef Py_ssize_t i, k
        cdef double ref = self._c0[(self._head + self._n - 1) & self._mask] if self._n else 0.0
        cdef double notional = 0.0, volume = 0.0
        for i in range(self._n):
            k = (self._head + i) & self._mask
            notional += self._c1[k] * (self._c0[k] - ref)
            volume += self._c1[k]
        self._ref = ref
        self._notional = notional
        self._volume = volume
        return 0
