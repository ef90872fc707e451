# CPython's math.fsum in C, over a buffer of doubles, for the compiled side of
# pipelines/core/calculators/exact.py (its one-source facade: use that, not this, elsewhere).
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

    /* CPython's math_fsum (Shewchuk's partials, then the half-even fix-up across partials),
       line for line. At most about 41 non-overlapping partials exist for doubles: 64 is room.
       Returns 0 with the sum in *out, 1 on an intermediate overflow, 2 on -inf + inf. */
    static int tp_fsum_partials(const double *v, Py_ssize_t count, double *out) {
        double p[64], x, y, t, hi, yr, lo = 0.0, xsave, special_sum = 0.0, inf_sum = 0.0;
        int i, j, n = 0;
        Py_ssize_t k;
        for (k = 0; k < count; k++) {
            x = v[k];
            xsave = x;
            for (i = j = 0; j < n; j++) {
                y = p[j];
                if (fabs(x) < fabs(y)) { t = x; x = y; y = t; }
                hi = x + y;
                yr = hi - x;
                lo = y - yr;
                if (lo != 0.0) p[i++] = lo;
                x = hi;
            }
            n = i;
            if (x != 0.0) {
                if (!isfinite(x)) {
                    /* an intermediate overflow, or an inf or nan among the values */
                    if (isfinite(xsave)) return 1;
                    if (isinf(xsave)) inf_sum += xsave;
                    special_sum += xsave;
                    n = 0;
                }
                else p[n++] = x;
            }
        }
        if (special_sum != 0.0) {
            if (isnan(inf_sum)) return 2;
            *out = special_sum;
            return 0;
        }
        hi = 0.0;
        if (n > 0) {
            hi = p[--n];
            /* sum the partials from the top, stop when the sum becomes inexact */
            while (n > 0) {
                x = hi;
                y = p[--n];
                hi = x + y;
                yr = hi - x;
                lo = y - yr;
                if (lo != 0.0) break;
            }
            /* half-even rounding across several partials, as math.fsum does */
            if (n > 0 && ((lo < 0.0 && p[n-1] < 0.0) || (lo > 0.0 && p[n-1] > 0.0))) {
                y = lo * 2.0;
                x = hi + y;
                yr = x - hi;
                if (y == yr) hi = x;
            }
        }
        *out = hi;
        return 0;
    }

    /* math.fsum of v[0..n): the certified fast sum when allowed and certain, else the partials. */
    static int tp_fsum(const double *v, Py_ssize_t n, double *out, int fast) {
        if (fast && tp_fsum_fast(v, n, out)) return 0;
        return tp_fsum_partials(v, n, out);
    }
    """
    int tp_fsum_fast(const double *v, Py_ssize_t n, double *out) nogil
    int tp_fsum(const double *v, Py_ssize_t n, double *out, int fast) nogil
