# C-level declarations of the compiled L2 book (pipelines/core/_cbook.pyx), so the compiled
# BookKeeper and pipeline loop reach its arrays without Python calls. See book.py (the reference).
from libc.stdint cimport int64_t


cdef class BookSideLevels:
    cdef readonly int sign
    cdef int64_t* _keys  # sign * price, ascending: the best level is _keys[n - 1]
    cdef int64_t* _sizes  # the size of the level at the same index
    cdef Py_ssize_t n
    cdef Py_ssize_t cap

    cdef Py_ssize_t _find(self, int64_t key) noexcept
    cdef int _reserve(self, Py_ssize_t need) except -1
    cdef int _set_key(self, int64_t key, int64_t size) except -1
    cdef int64_t _key(self, object price) except? -1
    cdef void _remove(self, Py_ssize_t index) noexcept
    cdef list _top(self, Py_ssize_t depth)
    cdef _load(self, list levels)


cdef class Book:
    cdef public object stream
    cdef public object symbol
    cdef public object price_decimals
    cdef public object size_decimals
    cdef readonly BookSideLevels bids
    cdef readonly BookSideLevels asks

    cpdef apply(self, delta)
    # The one-source readers' API (the reference Book has the same methods): C calls, C ints.
    cpdef bint crossed(self) except -1
    cpdef bint two_sided(self) except -1
    cpdef int64_t top_bid_price(self) except? -1
    cpdef int64_t top_ask_price(self) except? -1
    cpdef int64_t top_bid_size(self) except? -1
    cpdef int64_t top_ask_size(self) except? -1
    cpdef object mid(self)
    cdef object _mid(self)
    cdef bint _crossed(self) noexcept
    # For compiled readers (rules, calculators; docs/internal/core-accel-interface.md): True when
    # both sides have a level, with *bid and *ask the best prices (no boxing, no Python call).
    cdef bint _best_prices(self, int64_t* bid, int64_t* ask) noexcept
