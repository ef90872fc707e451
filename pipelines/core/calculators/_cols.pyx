# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twin of :class:`pipelines.core.calculators.ols.OlsKernel` (decision 0113).

Same state, same float operations in the same order as ols.py (``** 2`` is C ``pow`` as in
CPython, ``math.fsum`` is the ``_cwindow`` port), so slope, intercept and r2 are bit-identical.
"""
from libc.math cimport isfinite, isinf
from libc.stdint cimport int64_t

from pipelines.core.calculators._cwindow cimport (
    RollingKernel,
    fsum_buffer,
    libm_square,
    square_overflow,
)


cdef class OlsKernel(RollingKernel):
    cdef public list results  # slope, intercept, r2 (the plugin's ``results``)
    cdef double _rx, _ry     # references the points are taken relative to
    cdef double _mx, _my     # means of x - rx, y - ry
    cdef double _cxx, _cxy, _cyy  # co-moments around the means
    cdef Py_ssize_t _run_x, _run_y  # trailing runs of equal x / equal y
    cdef bint _on_time
    cdef int64_t _t0          # ns origin of x on time
    cdef double _held_x       # latest value of the x series ...
    cdef bint _held           # ... once there is one

    def __cinit__(self, *args, **kwargs):
        self._ncols = 2  # x, y

    def __init__(self, list results, bint on_time):
        self.results = results
        self._on_time = on_time

    def observe_x(self, double value, int64_t ts=0):
        """A new value of the x series: held until the next y."""
        self._held_x = value
        self._held = True

    cdef object _update(self, double value, int64_t ts):
        cdef double x
        if self._on_time:
            if not self._n and not self._t0:
                self._t0 = ts
            # Python's int * float: the ns difference rounded once to a double.
            x = <double> (ts - self._t0) * 1e-9
        else:
            if not self._held:
                return None
            x = self._held_x
        cdef Py_ssize_t last
        if not self._n:
            self._rx = x
            self._ry = value
            self._run_x = 1
            self._run_y = 1
        else:
            last = (self._head + self._n - 1) & self._mask
            self._run_x = self._run_x + 1 if self._c0[last] == x else 1
            self._run_y = self._run_y + 1 if self._c1[last] == value else 1
        self._push(ts, x, value, 0.0)
        cdef double n = <double> self._n
        cdef double u = x - self._rx, v = value - self._ry
        cdef double mx = self._mx, my = self._my
        cdef double dx = u - mx, dy = v - my
        mx += dx / n
        my += dy / n
        self._mx = mx
        self._my = my
        self._cxx += dx * (u - mx)
        self._cxy += dx * (v - my)
        self._cyy += dy * (v - my)
        self._evict(ts)
        return self._solve(x)

    cdef object _solve(self, double x_now):
        cdef Py_ssize_t n = self._n
        cdef double slope, r2, cxy, at
        if n < 2:
            return None
        cdef double mean_x = self._rx + self._mx, mean_y = self._ry + self._my
        cdef double cxx = self._cxx, cyy = self._cyy
        if self._run_x >= n or cxx <= 0.0:
            return None  # every x is the same: no line
        if self._run_y >= n or cyy <= 0.0:
            slope = 0.0
            r2 = 1.0
        else:
            cxy = self._cxy
            slope = cxy / cxx
            r2 = cxy * cxy / (cxx * cyy)
            r2 = r2 if r2 < 1.0 else 1.0  # min(1.0, r2): 1.0 unless r2 is below it
        at = x_now if self._on_time else 0.0
        results = self.results
        # One float object for results[0] and the return value, as the reference's `slope`.
        cdef object py_slope = slope
        results[0] = py_slope
        results[1] = mean_y + slope * (at - mean_x)
        results[2] = r2
        return py_slope

    cdef int _drop_oldest(self) except -1:
        cdef double u = self._c0[self._head] - self._rx
        cdef double v = self._c1[self._head] - self._ry
        self._pop()
        cdef Py_ssize_t n = self._n  # after the removal
        if n == 0:
            self._mx = self._my = self._cxx = self._cxy = self._cyy = 0.0
            return 0
        cdef double mx = self._mx, my = self._my
        # Welford's step undone: the means before this point was added, then its co-moments.
        cdef double previous_x = mx - (u - mx) / <double> n
        cdef double previous_y = my - (v - my) / <double> n
        self._cxx -= (u - previous_x) * (u - mx)
        self._cxy -= (u - previous_x) * (v - my)
        self._cyy -= (v - previous_y) * (v - my)
        self._mx = previous_x
        self._my = previous_y
        return 0

    cdef int _recompute(self) except -1:
        # The reference's seven math.fsum passes, each over its terms in the scratch column, each
        # statistic assigned as soon as known (in the reference's order).
        cdef Py_ssize_t i, k, n = self._n
        cdef double rx, ry, mx, my, v
        cdef double *terms = self._scratch
        cdef double *xs = self._c0
        cdef double *ys = self._c1
        cdef Py_ssize_t head = self._head, mask = self._mask
        if not n:
            self._mx = self._my = self._cxx = self._cxy = self._cyy = 0.0
            return 0
        for i in range(n):
            terms[i] = xs[(head + i) & mask]
        self._rx = rx = fsum_buffer(terms, n) / <double> n
        for i in range(n):
            terms[i] = ys[(head + i) & mask]
        self._ry = ry = fsum_buffer(terms, n) / <double> n
        for i in range(n):
            terms[i] = xs[(head + i) & mask] - rx
        self._mx = mx = fsum_buffer(terms, n) / <double> n
        for i in range(n):
            terms[i] = ys[(head + i) & mask] - ry
        self._my = my = fsum_buffer(terms, n) / <double> n
        for i in range(n):
            v = xs[(head + i) & mask] - rx - mx
            terms[i] = libm_square(v)
            if isinf(terms[i]) and isfinite(v):
                square_overflow(terms, i)
        self._cxx = fsum_buffer(terms, n)
        for i in range(n):
            k = (head + i) & mask
            terms[i] = (xs[k] - rx - mx) * (ys[k] - ry - my)
        self._cxy = fsum_buffer(terms, n)
        for i in range(n):
            v = ys[(head + i) & mask] - ry - my
            terms[i] = libm_square(v)
            if isinf(terms[i]) and isfinite(v):
                square_overflow(terms, i)
        self._cyy = fsum_buffer(terms, n)
        return 0
