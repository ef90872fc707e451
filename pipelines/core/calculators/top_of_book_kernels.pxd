# C types of pipelines/core/calculators/top_of_book_kernels.py (one source, docs/decisions/0117).
# The book is the compiled Book; its top prices and sizes are int64, summed and multiplied with
# overflow checks (an OverflowError takes the module's Python-integer path).
cimport cython
from libc.stdint cimport int64_t

from pipelines.core._cbook cimport Book as CBook


cdef object _ratio(object numerator, object denominator)
cdef object _bps(object difference, object total)
cdef object _scaled(object numerator, object denominator, object decimals)
@cython.locals(total=int64_t, size=int64_t)
cdef int64_t _volume(list levels) except? -1
cdef object _imbalance_wide(list bids, list asks)


@cython.final
cdef class MidKernel:
    @cython.locals(bid=int64_t, ask=int64_t, total=int64_t, decimals=int)
    cpdef object update_book(self, CBook book, object ts=*)


@cython.final
cdef class MicropriceKernel:
    @cython.locals(bid=int64_t, ask=int64_t, bid_size=int64_t, ask_size=int64_t,
                   numerator=int64_t, volume=int64_t, decimals=int)
    cpdef object update_book(self, CBook book, object ts=*)


@cython.final
cdef class SpreadKernel:
    cdef public bint bps

    @cython.locals(bid=int64_t, ask=int64_t, difference=int64_t, total=int64_t, decimals=int)
    cpdef object update_book(self, CBook book, object ts=*)


@cython.final
cdef class ImbalanceKernel:
    cdef public object levels

    @cython.locals(bid_volume=int64_t, ask_volume=int64_t, difference=int64_t, total=int64_t,
                   bids=list, asks=list)
    cpdef object update_book(self, CBook book, object ts=*)
