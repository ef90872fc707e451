# C types of pipelines/core/calculators/ols_kernel.py (one source, docs/decisions/0117).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.calculators.rolling_kernel cimport RollingKernel


cdef class OlsKernel(RollingKernel):
    cdef public list results
    cdef double _rx, _ry
    cdef double _mx, _my
    cdef double _cxx, _cxy, _cyy
    cdef Py_ssize_t _run_x, _run_y
    cdef bint _on_time
    cdef int64_t _t0
    cdef double _held_x
    cdef bint _held

    cpdef observe_x(self, double value, int64_t ts=*)
    @cython.locals(x=double, last=Py_ssize_t, n=Py_ssize_t, u=double, v=double, mx=double,
                   my=double, dx=double, dy=double)
    cpdef object update(self, double value, int64_t ts=*)
    @cython.locals(n=Py_ssize_t, mean_x=double, mean_y=double, cxx=double, cyy=double,
                   cxy=double, slope=double, r2=double, at=double, results=list)
    cdef object _solve(self, double x_now)
    @cython.locals(u=double, v=double, n=Py_ssize_t, mx=double, my=double,
                   previous_x=double, previous_y=double)
    cdef int _drop_oldest(self) except -1
    @cython.locals(n=Py_ssize_t)
    cdef int _recompute(self) except -1
    @cython.locals(i=Py_ssize_t, k=Py_ssize_t, head=Py_ssize_t, mask=Py_ssize_t,
                   rx=double, ry=double, mx=double, my=double, d=double)
    cdef int _moments(self, Py_ssize_t n) except -1
