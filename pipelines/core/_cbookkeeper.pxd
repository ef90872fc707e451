# C-level declarations of the compiled BookKeeper (pipelines/core/_cbookkeeper.pyx), for the
# compiled pipeline loop (pipelines/runtime/_cpipeline.pyx). The reference is bookkeeper.py.
from pipelines.core._cbook cimport Book
from pipelines.core._chealth cimport BookHealth


cdef class BookKeeper:
    cdef public Book book
    cdef public BookHealth health
    cdef public object rules
    cdef public object depth
    cdef public object l3
    cdef public bint l2_fed
    cdef public long long dropped

    cdef bint _delta(self, object delta) except -1
    cdef bint _order(self, object order) except -1
    cdef bint _publish(self, object seq, object ts, object out, bint build) except -1
