# C types of pipelines/core/bookkeeper.py (one source, docs/decisions/0117): the compiled keeper
# holds the compiled Book (the twin _cbook), BookHealth and rule engine (SymbolRules), and the
# pipeline loop calls its per-event methods in C.
cimport cython
from pipelines.core._cbook cimport Book as CBook
from pipelines.core.health cimport BookHealth
from pipelines.core.rules.engine cimport SymbolRules

cdef bint COMPILED
cdef Py_ssize_t BATCH_END


@cython.final
cdef class BookKeeper:
    cdef public CBook book
    cdef public BookHealth health
    cdef public SymbolRules rules
    cdef public object depth
    cdef public object l3
    cdef public bint l2_fed
    cdef public long long dropped

    cpdef bint delta(self, object delta) except -1
    cpdef bint snapshot(self, object snapshot, object out) except -1
    cpdef bint order(self, object order) except -1
    cpdef status(self, object status, object out)
    @cython.locals(rules=SymbolRules)
    cpdef bint publish(self, object seq, object ts, object out, bint build=*) except -1
    @cython.locals(rules=SymbolRules)
    cpdef trade(self, object trade, object out)
