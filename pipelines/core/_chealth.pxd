# C-level declarations of the compiled book health (pipelines/core/_chealth.pyx); the reference
# is health.py. The compiled BookKeeper calls these without Python dispatch.

cdef class BookHealth:
    cdef public object stream
    cdef public object symbol
    cdef public object stale_after_ns
    cdef public object state
    cdef public bint crossed
    cdef public bint needs_snapshot
    cdef public object gaps
    cdef public long long messages
    cdef public long long seen_messages
    cdef public object last_active_ns
    cdef public bint announced

    cdef object _move(self, str trigger, object reason, object seq, object ts)
    cpdef on_snapshot(self, seq=*, ts=*, reason=*)
    cpdef on_update(self, seq=*, ts=*)
    cpdef set_crossed(self, bint crossed, reason, seq=*, ts=*)
    cdef str _label(self)
