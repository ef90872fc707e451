# C types of pipelines/core/calculators/rolling_kernel.py (one source, docs/decisions/0117): the
# ring's columns are typed memoryviews over the arrays, so the kernels index them in C. Every
# ring index is masked into [0, capacity): the methods that index the ring need no bounds check.
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.kernel cimport SeriesKernel


cdef Py_ssize_t RECOMPUTE_MIN, SMALL


cdef class RollingKernel(SeriesKernel):
    cdef long long[::1] _t
    cdef double[::1] _c0
    cdef double[::1] _c1
    cdef double[::1] _c2
    cdef double[::1] _scratch
    cdef Py_ssize_t _cap
    cdef Py_ssize_t _mask
    cdef Py_ssize_t _head
    cdef Py_ssize_t _n
    cdef int _ncols
    cdef Py_ssize_t _since
    cdef Py_ssize_t _limit
    cdef int64_t _span

    cpdef set_window(self, object limit, int64_t span)
    cpdef resize(self, object limit, int64_t span)
    cpdef clear(self)
    @cython.locals(cap=Py_ssize_t, i=Py_ssize_t, k=Py_ssize_t)
    cdef int _grow(self) except -1
    @cython.locals(i=Py_ssize_t)
    cdef int _push(self, int64_t t, double a, double b, double c) except -1
    cdef void _pop(self) noexcept
    cdef Py_ssize_t _last(self) noexcept
    @cython.locals(before=Py_ssize_t, horizon=int64_t, n=Py_ssize_t)
    cdef int _evict(self, int64_t now) except -1
    cdef int _drop_oldest(self) except -1
    cdef int _recompute(self) except -1
