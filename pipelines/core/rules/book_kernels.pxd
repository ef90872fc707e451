# C types of pipelines/core/rules/book_kernels.py (one source, docs/decisions/0117, 0119).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.rules.engine cimport RuleKernel


cdef class CrossedBookKernel(RuleKernel):
    cdef public bint include_locked

    cpdef object top(self, int64_t bid, int64_t ask, object book, bint text)


cdef class MaxSpreadKernel(RuleKernel):
    cdef public double max_bps
    cdef public object max_spread
    cdef object _decimals
    cdef object _limit

    @cython.locals(
        max_bps=double, low=int64_t, high=int64_t, least=int64_t, most=int64_t, hit=bint
    )
    cpdef object top(self, int64_t bid, int64_t ask, object book, bint text)


cdef bint _wider_than_bps(object bid, object ask, double max_bps) except -1
cdef object _spread_bps(object bid, object ask)
cdef object _difference(object bid, object ask)
