# Declarations of the compiled FIX normalizer (_cnormalize.pyx), shared with the fused decoder
# (_cplugin.pyx), which runs the same helpers on values read straight from the tokens.

cdef class _Clock:
    cdef long long day_key
    cdef long long day_seconds

    cdef object parse(self, object text)
    cdef object _compact(self, str string, Py_ssize_t n)
    cdef object _at(self, long long date, long long h, long long m, long long s,
                    long long fraction)


cdef class Normalizer:
    cdef object reference
    cdef object stream
    cdef object sequencer
    cdef bint plain_sequencer
    cdef tuple symbol_tags
    cdef long fixed_decimals
    cdef dict book_types
    cdef dict price_decimals
    cdef dict size_decimals
    cdef dict security_ids
    cdef dict sides
    cdef _Clock clock
    cdef object reference_time
    cdef object reference_other

    cdef long long _next(self) except? -1
    cdef object _symbol(self, dict fields, object default)
    cdef tuple _symbol_tags(self, dict fields)
    cdef tuple _scales(self, object symbol, list entries)
    cdef object _time(self, dict fields, object date_hint)
    cdef list _snapshot(self, object message, object ts_recv)
    cdef list _incremental(self, object message, object ts_recv)
    cdef list _instrument(self, object message, object ts_recv)
    cdef object _other(
        self,
        dict entry,
        object symbol,
        object venue_seq,
        object ts,
        object ts_recv,
        object price_dec,
        object size_dec,
    )


cdef int _digits(str text, Py_ssize_t start, Py_ssize_t stop, long long *out) noexcept
cdef object _scale(object text, long decimals, str tag)
cdef long _decimals_of(object text) except? -1
cdef object _int_text(object text, object default)
cdef object _venue_seq(dict fields, object default)
cdef object _msg_seq_num(dict fields)
cdef object _level(object level)
