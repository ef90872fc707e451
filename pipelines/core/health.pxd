# C types of pipelines/core/health.py (one source, docs/decisions/0117): BookHealth becomes a C
# class whose per-message methods the compiled BookKeeper calls without Python dispatch.
cimport cython



@cython.final
cdef class BookHealth:
    cdef public object stream
    cdef public object symbol
    cdef public object stale_after_ns
    cdef public str state
    cdef public bint crossed
    cdef public bint needs_snapshot
    cdef public object gaps
    cdef public long long messages
    cdef public long long seen_messages
    cdef public object last_active_ns
    cdef public bint announced

    cpdef str state_label(self)
    cdef object _move(self, str trigger, object reason, object seq, object ts)
    cpdef on_snapshot(self, seq=*, ts=*, reason=*)
    cpdef on_update(self, seq=*, ts=*)
    cpdef set_crossed(self, bint crossed, reason, seq=*, ts=*)
