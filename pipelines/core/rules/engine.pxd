# C types of pipelines/core/rules/engine.py (one source, docs/decisions/0117, 0119): the rule
# engine's per-event classes are C classes; the compiled keeper cimports SymbolRules and calls
# on_book/on_trade/flush in C, and the compiled kernels (book_kernels, band_kernels) subclass
# RuleKernel, whose top/trade the engine calls in C with the compiled Book's best prices as C ints.
cimport cython
from libc.stdint cimport int64_t

from pipelines.core._cbook cimport Book as CBook


cdef class RuleKernel:
    cpdef object top(self, int64_t bid, int64_t ask, object book, bint text)
    cpdef object trade(self, object trade, bint text)


@cython.final
cdef class RuleStats:
    cdef public long long evaluations
    cdef public long long hits


@cython.final
cdef class BoundRule:
    cdef readonly object entry
    cdef readonly object name
    cdef readonly object rule
    cdef readonly object action
    cdef readonly bint tags
    cdef readonly bint drops
    cdef readonly bint alerts
    cdef readonly bint halts
    cdef readonly RuleStats stats
    cdef readonly object check_top
    cdef readonly RuleKernel kernel
    cdef public bint active


@cython.final
cdef class SymbolRules:
    cdef public object stream
    cdef public object symbol
    cdef public dict bound
    cdef public list book
    cdef public list trade
    cdef public list tick
    cdef public list gap
    cdef public set halted
    cdef public list pending

    @cython.locals(first=bint)
    cdef bint _outcome(self, BoundRule bound, object message, object seq, object ts) except -1
    cpdef release(self, object name, object seq, object ts)
    cdef object _alert(self, BoundRule bound, object severity, object message, object seq, object ts)
    cdef object _status(self, object state, object reason, object seq, object ts)
    # The per-event entry points: C calls for the compiled keeper.
    @cython.locals(
        publish=bint, two_sided=bint, bid=int64_t, ask=int64_t, bound=BoundRule,
        kernel=RuleKernel, text=bint,
    )
    cpdef bint on_book(self, CBook book, object seq, object ts) except -1
    @cython.locals(publish=bint, bound=BoundRule, kernel=RuleKernel, text=bint)
    cpdef bint on_trade(self, object trade) except -1
    @cython.locals(bound=BoundRule)
    cpdef on_tick(self, object now_ns, object last_active_ns, object out)
    @cython.locals(bound=BoundRule)
    cpdef on_gap(self, object ts, object seq, object out)
    cpdef flush(self, object out)
