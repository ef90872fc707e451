# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twin of :class:`pipelines.core.calculators.zscore.ZScoreKernel` (decision 0113).

Same state, same float operations in the same order as zscore.py (``** 2`` is C ``pow`` as in
CPython, ``math.fsum`` is the ``_cwindow`` port): the values are bit-identical.
"""
from libc.math cimport isfinite, isinf, sqrt
from libc.stdint cimport int64_t

from pipelines.core.calculators._cwindow cimport (
    RollingKernel,
    fsum_buffer,
    libm_square,
    square_overflow,
)


cdef class ZScoreKernel(RollingKernel):
    cdef double _ref   # values enter as value - ref: small numbers even for prices near 1e9
    cdef double _mean  # of value - ref
    cdef double _m2    # sum of squared deviations from the mean
    cdef Py_ssize_t _run  # trailing run of equal values

    def __cinit__(self):
        self._ncols = 1  # the values

    cdef object _update(self, double value, int64_t ts):
        cdef Py_ssize_t n = self._n
        if not n:
            self._ref = value
        if n and self._c0[(self._head + n - 1) & self._mask] == value:
            self._run += 1
        else:
            self._run = 1
        self._push(ts, value, 0.0, 0.0)
        # Welford on value - ref: moments stay centred on the current mean.
        n = self._n
        cdef double d = value - self._ref
        cdef double delta = d - self._mean
        self._mean += delta / <double> n
        self._m2 += delta * (d - self._mean)
        self._evict(ts)
        n = self._n
        if n < 2:
            return None
        if self._run >= n or self._m2 <= 0.0:
            return 0.0  # every value is the same: the value is the mean
        return (value - self._ref - self._mean) / sqrt(self._m2 / <double> (n - 1))

    cdef int _drop_oldest(self) except -1:
        cdef double value = self._c0[self._head] - self._ref
        self._pop()
        cdef Py_ssize_t n = self._n  # after the removal
        if n == 0:
            self._mean = 0.0
            self._m2 = 0.0
            return 0
        cdef double mean = self._mean
        cdef double previous = mean - (value - mean) / <double> n  # Welford's step, undone
        self._m2 -= (value - previous) * (value - mean)
        self._mean = previous
        return 0

    cdef int _recompute(self) except -1:
        # The reference's three math.fsum passes, each over its terms in the scratch column.
        cdef Py_ssize_t i, n = self._n
        cdef double ref = 0.0, mean = 0.0, v
        cdef double *terms = self._scratch
        if n:
            for i in range(n):
                terms[i] = self._c0[(self._head + i) & self._mask]
            ref = fsum_buffer(terms, n) / <double> n
            self._ref = ref  # assigned as soon as known, as the reference does
            for i in range(n):
                terms[i] = self._c0[(self._head + i) & self._mask] - ref
            mean = fsum_buffer(terms, n) / <double> n
        self._ref = ref
        self._mean = mean
        for i in range(n):
            v = self._c0[(self._head + i) & self._mask] - ref - mean
            terms[i] = libm_square(v)
            if isinf(terms[i]) and isfinite(v):
                square_overflow(terms, i)
        self._m2 = fsum_buffer(terms, n)
        return 0
