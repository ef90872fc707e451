# The JSON tape of the compiled mapped decoder (_cjson_tape.pyx), shared by its other modules:
# one frame parsed into flat nodes, and the small reads on them that every module needs. The
# helpers here are inline because they run per key or per value in the other modules.
cimport cython
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

cdef extern from *:
    """
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    #define CJSON_LITTLE_ENDIAN 1
    #else
    #define CJSON_LITTLE_ENDIAN 0
    #endif
    """
    # The 8-byte loads read text in little-endian order; elsewhere they are skipped.
    const bint LITTLE_ENDIAN "CJSON_LITTLE_ENDIAN"

# Node kinds.
cdef enum:
    K_OBJ = 1
    K_ARR = 2
    K_STR = 3
    K_INT = 4
    K_FLOAT = 5
    K_TRUE = 6
    K_FALSE = 7
    K_NULL = 8

cdef enum:
    MAX_DEPTH = 64
    MAX_MEMO = 128


cdef struct Node:
    int kind
    int start      # strings: first byte after the quote; other kinds: first byte
    int end        # strings: the closing quote; numbers and literals: one past the last byte
    int next       # tape index of the next sibling (containers: past their last descendant)
    int count      # containers: elements (objects: members)
    int memo       # objects: where Tape.layout laid out its members (-1: not yet)
    int64_t ival   # K_INT: the value


@cython.final
cdef class Tape:
    cdef Node* nodes
    cdef int cap
    cdef int n
    # The members of objects looked up in this frame, laid out flat (see memo below).
    cdef int memo_used
    cdef uint64_t memo_k8[MAX_MEMO]
    cdef int memo_len[MAX_MEMO]
    cdef int memo_start[MAX_MEMO]
    cdef int memo_value[MAX_MEMO]
    cdef const unsigned char* s
    cdef Py_ssize_t length
    cdef object data
    # The message being handled (its node): where anchored ("$...") paths start. Set by the
    # row handlers (_cjson_messages) before they resolve a field.
    cdef int frame

    cdef int _grow(self, Py_ssize_t length) except -1
    cdef int parse(self, bytes data) except -1
    cdef int layout(self, int obj) noexcept


cdef object text(Tape t, int i)
cdef object decoded(Tape t, int i)
cdef int decimals_of(Tape t, int i) noexcept
cdef list elements(Tape t, int i, object slice_)


cdef inline int memo(Tape t, int obj) noexcept:
    """Where object ``obj``'s members are laid out flat (key length, first 8 bytes, value node),
    or -1 when the caller walks the member chain instead. A mapping reads several fields of the
    same object, and walking the chain (one dependent load per member) once instead of per field
    is what makes key lookups cheap."""
    cdef int base = t.nodes[obj].memo
    if base >= 0:
        return base
    if t.nodes[obj].count <= 3:
        return -1  # a short chain walk costs less than laying it out
    return t.layout(obj)


cdef inline uint64_t k8(const char* p, Py_ssize_t length) noexcept:
    # The first (up to) 8 bytes of a key, packed: equal keys give equal values.
    cdef uint64_t packed = 0
    cdef Py_ssize_t k
    if length > 8:
        length = 8
    for k in range(length):
        packed |= (<uint64_t><unsigned char>p[k]) << (8 * k)
    return packed


cdef inline uint64_t tape_k8(Tape t, int start, int length) noexcept:
    # k8 of text in the frame: one 8-byte load when 8 bytes remain in the data.
    cdef uint64_t packed
    if LITTLE_ENDIAN and start + 8 <= t.length:
        memcpy(&packed, t.s + start, 8)
        if length < 8:
            return packed & (((<uint64_t>1) << (8 * length)) - 1)
        return packed
    return k8(<const char*>(t.s + start), length)


cdef inline bint is_scalar(Tape t, int i) noexcept:
    return t.nodes[i].kind >= K_STR
