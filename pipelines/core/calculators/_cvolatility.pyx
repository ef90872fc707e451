# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twin of :class:`pipelines.core.calculators.volatility.RealizedVolKernel`
(decision 0113): same state, same float operations in the same order (C ``log``/``sqrt`` as
CPython's math module, ``math.fsum`` ported in ``_cwindow``), so bit-identical values."""
from libc.math cimport fabs, sqrt
from libc.stdint cimport int64_t

from pipelines.core.calculators._cwindow cimport RollingKernel, fsum_buffer, py_log


cdef class RealizedVolKernel(RollingKernel):
    cdef double _sum_sq
    cdef double _carry    # Neumaier compensation of _sum_sq
    cdef double _prev     # the previous price; 0 until the first one
    cdef int64_t _prev_ts
    cdef int64_t _start   # ts of the price before the oldest retained return
    cdef public bint annualize
    cdef public double year_seconds

    def __cinit__(self):
        self._ncols = 1  # the returns
        self.year_seconds = 365.25 * 86_400

    def configure(self, bint annualize, double year_seconds):
        self.annualize = annualize
        self.year_seconds = year_seconds

    cdef object _update(self, double value, int64_t ts):
        cdef double prev = self._prev
        if value <= 0.0:
            return None  # no log return of a non-positive price
        cdef int64_t prev_ts = self._prev_ts
        self._prev = value
        self._prev_ts = ts
        if prev == 0.0:
            return None
        cdef double r = py_log(value / prev)
        if not self._n:
            self._start = prev_ts
        self._push(ts, r, 0.0, 0.0)
        self._add(r * r)
        self._evict(ts)
        cdef double sum_sq = self._sum_sq + self._carry
        sum_sq = sum_sq if sum_sq > 0.0 else 0.0  # rounding never goes negative
        if not self.annualize:
            return sqrt(sum_sq)
        # Python's int / float: the int difference rounded once to a double, then divided.
        cdef double elapsed = <double> (ts - self._start) / 1e9
        return sqrt(sum_sq * self.year_seconds / elapsed) if elapsed > 0 else None

    cdef int _drop_oldest(self) except -1:
        self._start = self._t[self._head]
        cdef double r = self._c0[self._head]
        self._pop()
        self._add(-r * r)
        return 0

    cdef inline void _add(self, double term) noexcept:
        # Compensated (Neumaier): after big returns leave the window, a small sum keeps its digits.
        cdef double total = self._sum_sq
        cdef double new = total + term
        if fabs(total) >= fabs(term):
            self._carry += (total - new) + term
        else:
            self._carry += (term - new) + total
        self._sum_sq = new

    cdef int _recompute(self) except -1:
        cdef Py_ssize_t i
        cdef double r
        cdef double *terms = self._scratch
        for i in range(self._n):
            r = self._c0[(self._head + i) & self._mask]
            terms[i] = r * r
        self._sum_sq = fsum_buffer(terms, self._n)
        self._carry = 0.0
        return 0
