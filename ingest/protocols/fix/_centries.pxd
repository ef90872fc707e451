# Declarations of the compiled building blocks (_centries.pyx) that the compiled normalizer
# (_cnormalize.pyx, on fields dicts) and the fused decoder (_cplugin.pyx, on token ranges) share:
# value readers, the clock, and the W/X steps over NoMDEntries seen through an Entries view.

cdef int ascii_digits(const unsigned char *data, Py_ssize_t start, Py_ssize_t stop,
                      long long *out) noexcept
cdef int scale_digits(const unsigned char *data, Py_ssize_t start, Py_ssize_t stop,
                      long decimals, long long *out) noexcept
cdef Py_ssize_t places_of(const unsigned char *data, Py_ssize_t start, Py_ssize_t stop) noexcept
cdef object scale_text(object text, long decimals, str tag)
cdef long decimals_of(object text) except? -1
cdef object int_text(object text, object default, str tag)
cdef object level_of(object text)
cdef object venue_seq_of(dict fields, object default)
cdef object msg_seq_num(dict fields)


cdef class Clock:
    cdef long long day_key
    cdef long long day_seconds

    cdef object parse(self, object text)
    cdef object _compact(self, const unsigned char *d, Py_ssize_t n)
    cdef object _at(self, long long date, long long h, long long m, long long s, long long fraction)
    cdef bint _day(self, long long date) except -1
    cdef object entry_time(self, object text, object date, object hint)
    cdef bint _date_text(self, object text, long long *out) except -1


cdef class Entries:
    cdef Py_ssize_t count

    cdef object get(self, Py_ssize_t entry, int tag, str key, object default)
    cdef bint timed(self, Py_ssize_t entry) except -1
    cdef object time(self, Py_ssize_t entry, object sending)
    cdef object symbol(self, Py_ssize_t entry, object default)
    cdef bint places(self, Py_ssize_t entry, int tag, str key, long *out) except -1
    cdef object scaled(self, Py_ssize_t entry, int tag, str key, long decimals)
    cdef object venue_seq(self, Py_ssize_t entry, object default)
    cdef object level(self, Py_ssize_t entry)
    cdef object other(self, Py_ssize_t entry, object entry_type, object symbol, object venue_seq,
                      object ts, object ts_recv, long price_dec, long size_dec)


cdef class MarketData:
    cdef object stream
    cdef object sequencer
    cdef bint plain_sequencer
    cdef tuple symbol_tags
    cdef long fixed_decimals
    cdef dict book_types
    cdef dict price_decimals
    cdef dict size_decimals
    cdef dict security_ids
    cdef list journal  # the reference's: what this message changed in the three dicts
    cdef object undo  # normalize.undo (a rejected message's changes put back)
    cdef dict sides
    cdef Clock clock
    cdef object reference_optional_time  # the reference normalizer's bound _optional_time
    cdef object reference_sending_time  # normalize.sending_time
    cdef list warnings  # the reference's: warnings of the message being normalized

    cdef long long next_seq(self) except? -1
    cdef object symbol(self, dict fields, object default)
    cdef tuple symbol_tags_of(self, dict fields)
    cdef tuple tags_for(self, object exchange)
    cdef object time(self, dict fields, object date_hint)
    cdef object optional_time(self, dict fields, object date_hint)
    cdef int scales(self, object symbol, Entries entries, list members, long *price_dec,
                    long *size_dec) except -1
    cdef object snapshot(self, dict fields, Entries entries, object ts_recv)
    cdef object incremental(self, dict fields, Entries entries, object ts_recv)
    cdef object other(self, Entries entries, Py_ssize_t entry, object entry_type, object symbol,
                      object venue_seq, object ts, object ts_recv, long price_dec, long size_dec)
