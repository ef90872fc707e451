# C-level declarations of the compiled rule engine (pipelines/core/rules/_cengine.pyx), so the
# compiled rule kernels (_cbook_checks, _cbands) subclass RuleKernel and the engine calls their
# checks without Python calls. See engine.py (the reference).
from libc.stdint cimport int64_t


cdef class RuleKernel:
    # ``text`` false: the engine will not read the message (a drop, or an alert/halt already
    # hit), so a hit may return True instead of formatting it. Same verdict, same state.
    cdef object _check_top(self, object bid, object ask, object book, bint text)
    # Both sides present, the best prices as C ints (from the compiled Book's _best_prices):
    # the same verdict as _check_top on the same prices boxed.
    cdef object _check_prices(self, int64_t bid, int64_t ask, object book, bint text)
    cdef object _check_trade(self, object trade, bint text)


cdef class RuleStats:
    cdef public long long evaluations
    cdef public long long hits


cdef class BoundRule:
    cdef readonly object entry
    cdef readonly object name
    cdef readonly object rule
    cdef readonly object action
    cdef readonly object stats
    cdef readonly object check_top
    cdef public bint active
    cdef int _action         # TAG, DROP, ALERT or HALT
    cdef RuleKernel _kernel  # the rule's compiled kernel, or None (then: Python calls)
    cdef RuleStats _stats    # stats when compiled, or None (then: Python attributes)

    cdef int _evaluated(self) except -1
    cdef int _hit(self) except -1
    cdef bint _needs_text(self) noexcept


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

    cdef int _outcome(self, BoundRule bound, object message, object seq, object ts) except -1
    # The per-event entry points, callable in C by a compiled caller that cimports this type
    # (docs/internal/core-accel-interface.md); from Python they are the usual methods.
    cpdef bint on_book(self, object book, object seq, object ts) except -1
    cpdef bint on_trade(self, object trade) except -1
    cpdef flush(self, object out)


# Python ints in C: the compiled kernels use int64 only where the reference's exact int
# arithmetic cannot overflow there, and fall back to Python objects otherwise.
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_Check

cdef extern from *:
    bint add_overflow "__builtin_add_overflow"(long long a, long long b, long long *res) nogil
    bint sub_overflow "__builtin_sub_overflow"(long long a, long long b, long long *res) nogil
    bint mul_overflow "__builtin_mul_overflow"(long long a, long long b, long long *res) nogil


cdef inline bint as_i64(object value, long long *out) except -1:
    # The int's value in *out; False when it is not an exact int or does not fit in int64.
    cdef int overflow = 0
    if not PyLong_Check(value):
        return False
    out[0] = PyLong_AsLongLongAndOverflow(value, &overflow)
    return overflow == 0
