# C types of pipelines/core/rules/band_kernels.py (one source, docs/decisions/0117, 0119).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core.rules.engine cimport RuleKernel


@cython.final
cdef class Ewm:
    cdef public double alpha
    cdef public long long count
    cdef public double mean
    cdef public double var

    @cython.locals(diff=double, increment=double)
    cpdef add(self, double value)


cdef class PriceBandKernel(RuleKernel):
    cdef public Ewm reference
    cdef public object input
    cdef public object band
    cdef public bint sigma
    cdef public double k
    cdef public double percent
    cdef public double min_percent
    cdef public long long warmup

    @cython.locals(reference=Ewm, mean=double, width=double, floor=double)
    cpdef object check_value(self, double value, bint text=*)
    cpdef object trade(self, object trade, bint text)
    @cython.locals(low=int64_t, high=int64_t)
    cpdef object top(self, int64_t bid, int64_t ask, object book, bint text)


cdef double _half_sum(object bid, object ask) except? -1.0


cdef class SpikeKernel(RuleKernel):
    cdef public object metric
    cdef public bint on_price
    cdef public object last_price
    cdef public Ewm sizes
    cdef public double threshold
    cdef public long long warmup

    @cython.locals(sizes=Ewm)
    cpdef object trade(self, object trade, bint text)
