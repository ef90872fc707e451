# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twin of :class:`pipelines.core.calculators.sma.SmaKernel` (decision 0113).

Same state, same float operations in the same order as sma.py: the values are bit-identical.
"""
from libc.stdint cimport int64_t

from pipelines.core.calculators._cwindow cimport RollingKernel


cdef class SmaKernel(RollingKernel):
    cdef double _ref
    cdef double _sum

    def __cinit__(self):
        self._ncols = 1  # the values

    cdef object _update(self, double value, int64_t ts):
        if not self._n:
            self._ref = value  # the first value is the reference: sums of small deviations
        self._push(ts, value, 0.0, 0.0)
        self._sum += value - self._ref
        self._evict(ts)
        return self._ref + self._sum / <double> self._n

    cdef int _drop_oldest(self) except -1:
        self._sum -= self._c0[self._head] - self._ref
        self._pop()
        return 0

    cdef int _recompute(self) except -1:
        # sum() from the newest value as reference, left to right (Python 3.11's float sum).
        cdef Py_ssize_t i
        cdef double ref = self._c0[(self._head + self._n - 1) & self._mask] if self._n else 0.0
        cdef double total = 0.0
        for i in range(self._n):
            total += self._c0[(self._head + i) & self._mask] - ref
        self._ref = ref
        self._sum = total
        return 0
