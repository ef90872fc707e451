# Compiled twin of pipelines/core/calculators/window.py (RollingKernel), shared by the compiled
# rolling kernels through cimport. See window.py for the semantics this must reproduce exactly.
from libc.stdint cimport int64_t

from pipelines.core.calculators._ckernel cimport SeriesKernel

# CPython's math.fsum, step by step (correctly rounded, so equal to math.fsum to the last bit).
# At most ~41 non-overlapping partials exist for doubles; 64 leaves room.
cdef struct Fsum:
    double partials[64]
    int n
    double special_sum
    double inf_sum

cdef void fsum_init(Fsum *acc) noexcept nogil
cdef int fsum_add(Fsum *acc, double x) except -1
cdef double fsum_result(Fsum *acc) except? -1.0
cdef double fsum_buffer(double *values, Py_ssize_t n) except? -1.0
cdef double py_square(double x) except? -1.0
cdef double libm_square(double x) noexcept nogil
cdef int square_overflow(double *values, Py_ssize_t k) except -1
cdef double py_log(double x) except? -1.0


cdef class RollingKernel(SeriesKernel):
    # Columns in one ring (capacity a power of two): times, and up to three double columns.
    cdef int64_t *_t
    cdef double *_c0
    cdef double *_c1
    cdef double *_c2
    cdef double *_scratch   # room for one column's terms (recomputes sum them with fsum_buffer)
    cdef Py_ssize_t _cap
    cdef Py_ssize_t _mask
    cdef Py_ssize_t _head   # index of the oldest entry
    cdef Py_ssize_t _n      # entries held
    cdef int _ncols
    cdef Py_ssize_t _since  # updates since the sums were last recomputed
    cdef int64_t _limit     # entries kept (PY_SSIZE_T_MAX: no limit)
    cdef int64_t _span      # ns kept (0: no span)

    cdef int _grow(self) except -1
    cdef int _push(self, int64_t t, double a, double b, double c) except -1
    cdef void _pop(self) noexcept
    cdef int _evict(self, int64_t now) except -1
    cdef int _drop_oldest(self) except -1
    cdef int _recompute(self) except -1
