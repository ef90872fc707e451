# distutils: extra_compile_args = -ffp-contract=off
# (Python never fuses a multiply and an add into one rounding; neither may the twin: an FMA-capable
# -march would otherwise let gcc contract a * b + c and change the last bit.)
"""Compiled twin of :class:`pipelines.core.calculators.window.RollingKernel` (decision 0113).

The window's entries sit in C arrays (one ring, several columns) instead of deques of Python
floats; the eviction rule, the recompute schedule and every floating-point operation are those of
window.py, in the same order, so the results are bit-identical. ``fsum_*`` is CPython's
``math.fsum`` algorithm (Shewchuk's partials with the half-even fix-up) over values produced one
at a time, so recomputes need no Python list.
"""
from libc.math cimport fabs, isfinite, isinf, isnan, log
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef enum:
    RECOMPUTE_MIN = 64  # window.RECOMPUTE_MIN
    SMALL = 8  # window.SMALL


cdef void fsum_init(Fsum *acc) noexcept nogil:
    acc.n = 0
    acc.special_sum = 0.0
    acc.inf_sum = 0.0


cdef int fsum_add(Fsum *acc, double x) except -1:
    # The loop body of CPython's math_fsum, for one item.
    cdef int i = 0, j
    cdef double y, t, hi, yr, lo
    cdef double xsave = x
    cdef double *p = acc.partials
    for j in range(acc.n):
        y = p[j]
        if fabs(x) < fabs(y):
            t = x
            x = y
            y = t
        hi = x + y
        yr = hi - x
        lo = y - yr
        if lo != 0.0:
            p[i] = lo
            i += 1
        x = hi
    acc.n = i
    if x != 0.0:
        if not isfinite(x):
            # A non-finite x: an intermediate overflow, or an inf/nan among the values.
            if isfinite(xsave):
                raise OverflowError("intermediate overflow in fsum")
            if isinf(xsave):
                acc.inf_sum += xsave
            acc.special_sum += xsave
            acc.n = 0
        else:
            p[acc.n] = x
            acc.n += 1
    return 0


cdef double fsum_result(Fsum *acc) except? -1.0:
    cdef int n = acc.n
    cdef double hi = 0.0, lo = 0.0, x, y, yr
    cdef double *p = acc.partials
    if acc.special_sum != 0.0:
        if isnan(acc.inf_sum):
            raise ValueError("-inf + inf in fsum")
        return acc.special_sum
    if n > 0:
        n -= 1
        hi = p[n]
        # Sum the partials from the top, stop when the sum becomes inexact.
        while n > 0:
            x = hi
            n -= 1
            y = p[n]
            hi = x + y
            yr = hi - x
            lo = y - yr
            if lo != 0.0:
                break
        # Half-even rounding across several partials (as math.fsum does).
        if n > 0 and ((lo < 0.0 and p[n - 1] < 0.0) or (lo > 0.0 and p[n - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            yr = x - hi
            if y == yr:
                hi = x
    return hi


cdef extern from *:
    """
    /* CPython computes float ** 2 with libm's pow(), which is not always the correctly rounded
       x * x; gcc folds a literal pow(x, 2.0) into x * x. A volatile exponent keeps the call. */
    static volatile double tp_two = 2.0;
    static double tp_libm_square(double x) { return pow(x, tp_two); }
    """
    double tp_libm_square(double x) nogil


cdef int square_overflow(double *values, Py_ssize_t k) except -1:
    # ``x ** 2`` overflowed at item k of a fsum over a generator: fsum saw items [0, k) first,
    # so its own intermediate-overflow error wins if they raise it; else the power's error.
    cdef Fsum acc
    cdef Py_ssize_t i
    fsum_init(&acc)
    for i in range(k):
        fsum_add(&acc, values[i])
    raise OverflowError(34, "Numerical result out of range")


cdef double libm_square(double x) noexcept nogil:
    # Python's ``x ** 2`` on a float without its error check (see square_overflow).
    return tp_libm_square(x)


cdef double py_square(double x) except? -1.0:
    # Python's ``x ** 2`` on a float: libm pow, and OverflowError where CPython raises it.
    cdef double r = tp_libm_square(x)
    if isinf(r) and isfinite(x):
        raise OverflowError(34, "Numerical result out of range")
    return r


cdef double py_log(double x) except? -1.0:
    # math.log on a float: ValueError outside its domain, as CPython's m_log.
    if isfinite(x) and x <= 0.0:
        raise ValueError("math domain error")
    return log(x)


cdef extern from *:
    """
    #include <math.h>
    /* The correctly rounded sum of v[0..n) when it can be certified cheaply, else 0 (then run
       the partials). Neumaier's loop keeps every step's rounding error e exactly (FastTwoSum,
       its precondition chosen by the branch), so the true sum is s + sum(e) exactly; c, the
       rounded sum of the e, is within gamma_n * sum|e| of it. r = fl(s + c) and its exact error
       d (TwoSum) put the true sum within |d| + bound of r: strictly less than half the gap to
       r's neighbours means r is the correctly rounded sum, which is what math.fsum returns.
       Non-finite values, ties and tiny magnitudes (subnormal gaps) are left to the partials. */
    static int tp_fsum_fast(const double *v, Py_ssize_t n, double *out) {
        double s = 0.0, c = 0.0, e_abs = 0.0, t, e, x, r, bb, d, bound, up, down, half;
        Py_ssize_t i;
        for (i = 0; i < n; i++) {
            x = v[i];
            t = s + x;
            if (fabs(s) >= fabs(x)) e = (s - t) + x; else e = (x - t) + s;
            c += e;
            e_abs += fabs(e);
            s = t;
        }
        if (!isfinite(s) || !isfinite(c) || !isfinite(e_abs)) return 0;
        r = s + c;
        if (!isfinite(r) || fabs(r) < 1e-290) return 0;
        if (e_abs != 0.0 && e_abs < 1e-250) return 0;
        bb = r - s;
        d = (s - (r - bb)) + (c - bb);
        /* gamma_n / (1 - gamma_n) * e_abs < 2.1 n u e_abs for n < 1e12 (u = 2^-53). */
        bound = e_abs * ((double) n * 2.4e-16);
        up = nextafter(r, INFINITY) - r;
        down = r - nextafter(r, -INFINITY);
        half = 0.5 * (up < down ? up : down);
        if ((fabs(d) + bound) * 1.000001 < half) { *out = r; return 1; }
        return 0;
    }
    """
    int tp_fsum_fast(const double *v, Py_ssize_t n, double *out) nogil


cdef double fsum_buffer(double *values, Py_ssize_t n) except? -1.0:
    # math.fsum of values[0..n): the certified fast sum, else CPython's partials.
    cdef double result
    cdef Py_ssize_t i
    cdef Fsum acc
    if tp_fsum_fast(values, n, &result):
        return result
    fsum_init(&acc)
    for i in range(n):
        fsum_add(&acc, values[i])
    return fsum_result(&acc)


def fsum(values, bint fast=True):
    """math.fsum through the code above (the tests pin both paths to math.fsum): the certified
    fast sum first (``fast``), else (or when it cannot certify) the partials."""
    cdef Fsum acc
    cdef list floats = [float(value) for value in values]
    cdef _Doubles copy
    if fast:
        copy = _Doubles(floats)  # held while the C sum reads it
        return fsum_buffer(copy.data, len(floats))
    fsum_init(&acc)
    for value in floats:
        fsum_add(&acc, value)
    return fsum_result(&acc)


def fsum_certified(values):
    """Whether the fast sum certifies these values (tests: both paths must be exercised)."""
    cdef double result
    cdef list floats = [float(value) for value in values]
    cdef _Doubles copy = _Doubles(floats)  # held while the C sum reads it
    return bool(tp_fsum_fast(copy.data, len(floats), &result))


cdef class _Doubles:
    """A C copy of a list of floats, freed with the object (for the test helpers above)."""

    cdef double *data

    def __cinit__(self, list floats):
        cdef Py_ssize_t i
        self.data = <double *> malloc(max(len(floats), 1) * sizeof(double))
        if self.data == NULL:
            raise MemoryError()
        for i in range(len(floats)):
            self.data[i] = floats[i]

    def __dealloc__(self):
        free(self.data)


cdef class RollingKernel(SeriesKernel):
    """The reference's deque of times, eviction and recompute schedule, over a C ring."""

    def __cinit__(self, *args, **kwargs):
        self._cap = 0
        self._mask = -1
        self._head = 0
        self._n = 0
        self._ncols = 0
        self._since = 0
        self._limit = PY_SSIZE_T_MAX
        self._span = 0

    def __dealloc__(self):
        free(self._t)
        free(self._c0)
        free(self._c1)
        free(self._c2)
        free(self._scratch)

    cdef int _grow(self) except -1:
        # Double the ring and unwrap it (oldest entry first at index 0).
        cdef Py_ssize_t cap = self._cap * 2 if self._cap else 16
        cdef Py_ssize_t first = self._cap - self._head
        cdef Py_ssize_t k
        cdef double *cols[3]
        cdef double *old[3]
        old[0] = self._c0
        old[1] = self._c1
        old[2] = self._c2
        for k in range(3):
            cols[k] = NULL
        cdef int64_t *t = <int64_t *> malloc(cap * sizeof(int64_t))
        cdef double *scratch = <double *> malloc(cap * sizeof(double))
        cdef bint failed = t == NULL or scratch == NULL
        for k in range(self._ncols):
            cols[k] = <double *> malloc(cap * sizeof(double))
            failed = failed or cols[k] == NULL
        if failed:
            free(t)
            free(scratch)
            for k in range(3):
                free(cols[k])
            raise MemoryError()
        if self._n:
            if first > self._n:
                first = self._n
            memcpy(t, self._t + self._head, first * sizeof(int64_t))
            memcpy(t + first, self._t, (self._n - first) * sizeof(int64_t))
            for k in range(self._ncols):
                memcpy(cols[k], old[k] + self._head, first * sizeof(double))
                memcpy(cols[k] + first, old[k], (self._n - first) * sizeof(double))
        free(self._t)
        free(self._c0)
        free(self._c1)
        free(self._c2)
        free(self._scratch)
        self._t = t
        self._c0 = cols[0]
        self._c1 = cols[1]
        self._c2 = cols[2]
        self._scratch = scratch
        self._cap = cap
        self._mask = cap - 1
        self._head = 0
        return 0

    cdef int _push(self, int64_t t, double a, double b, double c) except -1:
        cdef Py_ssize_t i
        if self._n == self._cap:
            self._grow()
        i = (self._head + self._n) & self._mask
        self._t[i] = t
        if self._ncols > 0:
            self._c0[i] = a
        if self._ncols > 1:
            self._c1[i] = b
        if self._ncols > 2:
            self._c2[i] = c
        self._n += 1
        return 0

    cdef void _pop(self) noexcept:
        # The oldest entry leaves the ring (its values were read by the caller first).
        self._head = (self._head + 1) & self._mask
        self._n -= 1

    cdef int _evict(self, int64_t now) except -1:
        cdef Py_ssize_t before = self._n
        cdef int64_t horizon
        if self._span:
            horizon = now - self._span
            while self._n > self._limit or self._t[self._head] <= horizon:
                self._drop_oldest()
        else:
            while self._n > self._limit:
                self._drop_oldest()
        cdef Py_ssize_t n = self._n
        self._since += 1
        if (self._since >= RECOMPUTE_MIN and self._since >= n) or (n < before and n <= SMALL):
            self._since = 0
            self._recompute()
        return 0

    cdef int _drop_oldest(self) except -1:
        self._pop()
        return 0

    cdef int _recompute(self) except -1:
        return 0

    def set_window(self, limit, int64_t span):
        """Keep at most ``limit`` entries and/or those of the last ``span`` ns (0: no span)."""
        # limit is sys.maxsize when unset; anything larger means the same (no limit).
        self._limit = limit if limit < PY_SSIZE_T_MAX else PY_SSIZE_T_MAX
        self._span = span

    def resize(self, limit, int64_t span):
        """A new window keeps the retained entries that fit it (a longer window fills up)."""
        self.set_window(limit, span)
        if self._n:
            self._evict(self._t[(self._head + self._n - 1) & self._mask])
            self._since = 0
            self._recompute()

    def clear(self):
        while self._n:
            self._drop_oldest()
        self._since = 0
        self._recompute()

    def __len__(self):
        return self._n
