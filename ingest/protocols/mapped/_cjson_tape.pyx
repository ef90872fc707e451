# cython: language_level=3
"""The JSON tape of the compiled mapped decoder (``_cjson_decoder``, docs/decisions/0116).

A frame's bytes are parsed once into flat nodes (C structs: kind, byte span, next sibling,
element count): the rest of the decoder runs the mapping plan on them and makes Python objects
only for what the events hold. The tape accepts a strict subset of what msgspec accepts: escapes,
control bytes, non-ASCII text, big integers, "-0", nesting past 64 and invalid JSON make ``parse``
return 0, and the reference decoder decides.
"""

cimport cython
from cpython.long cimport PyLong_FromLongLong
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcmp, memcpy


cdef extern from "Python.h":
    const char* PyBytes_AS_STRING(object)
    Py_ssize_t PyBytes_GET_SIZE(object)


cdef extern from *:
    int _ctz "__builtin_ctzll"(unsigned long long) nogil


class Bail(Exception):
    """This frame goes through the reference code (raised before any state change)."""


# Byte classes for the scanner: whitespace, digits, and bytes that end a plain string run
# (the quote, a backslash, control bytes including the NUL after the data, non-ASCII).
cdef unsigned char _WS[256]
cdef unsigned char _DIGIT[256]
cdef unsigned char _STR_STOP[256]
for _i in range(256):
    _WS[_i] = _i in (32, 9, 10, 13)
    _DIGIT[_i] = 48 <= _i <= 57
    _STR_STOP[_i] = _i == 34 or _i == 92 or _i < 32 or _i >= 128


cdef inline Py_ssize_t _scan_string(const unsigned char* s, Py_ssize_t pos,
                                    Py_ssize_t length) noexcept:
    """Position of the first byte at or after ``pos`` that ends a plain string run (see
    _STR_STOP), 8 bytes at a time while 8 remain: a byte is flagged when it is the quote, a
    backslash, below 0x20 or 0x80 and up. Borrows can only flag bytes above a flagged one, so
    the lowest flag is exact."""
    cdef uint64_t v, quote, slash, flags
    cdef uint64_t ones = 0x0101010101010101ULL
    cdef uint64_t highs = 0x8080808080808080ULL
    while LITTLE_ENDIAN and pos + 8 <= length:
        memcpy(&v, s + pos, 8)
        quote = v ^ (ones * 0x22)
        slash = v ^ (ones * 0x5C)
        flags = (((quote - ones) & ~quote) | ((slash - ones) & ~slash)
                 | ((v - ones * 0x20) & ~v) | v) & highs
        if flags:
            return pos + (_ctz(flags) >> 3)
        pos += 8
    while not _STR_STOP[s[pos]]:
        pos += 1
    return pos


cdef inline Py_ssize_t _skip_ws(const unsigned char* s, Py_ssize_t pos) noexcept:
    while s[pos] <= 32 and _WS[s[pos]]:
        pos += 1
    return pos


cdef inline Py_ssize_t _digits(const unsigned char* s, Py_ssize_t pos) noexcept:
    # One digit or more at ``pos``: the position after them, or -1.
    if not _DIGIT[s[pos]]:
        return -1
    while _DIGIT[s[pos]]:
        pos += 1
    return pos


cdef inline Py_ssize_t _string(const unsigned char* s, Py_ssize_t pos, Py_ssize_t length,
                               Node* node) noexcept:
    """The string whose opening quote is at ``pos`` as a K_STR node; returns the position after
    its closing quote, or -1: escapes, control bytes and non-ASCII text go to the reference
    decoder (as does the end of the data, where the NUL stops the scan)."""
    cdef Py_ssize_t start = pos + 1
    pos = _scan_string(s, start, length)
    if s[pos] != 34:
        return -1
    node.kind = K_STR
    node.start = <int>start
    node.end = <int>pos
    return pos + 1


cdef inline Py_ssize_t _literal(const unsigned char* s, Py_ssize_t pos, Py_ssize_t length,
                                Node* node, int kind, const char* spelling,
                                int size) noexcept:
    # true, false or null at ``pos``: the position after it, or -1.
    if length - pos < size or memcmp(s + pos, spelling, size) != 0:
        return -1
    node.kind = kind
    node.end = <int>(pos + size)
    return pos + size


cdef inline int _key(Tape t, Py_ssize_t* ppos, int* pn, Py_ssize_t length, int obj) noexcept:
    # A member's key and its ':' (counted on object ``obj``); the parser then reads the value.
    # A function, not a method, so that the C compiler inlines it into the parser's loop.
    cdef const unsigned char* s = t.s
    cdef Py_ssize_t pos = ppos[0]
    cdef int n = pn[0]
    cdef Node* node = &t.nodes[n]
    if s[pos] != 34:
        return 0
    pos = _string(s, pos, length, node)
    if pos < 0:
        return 0
    node.count = 0
    node.next = n + 1
    pos = _skip_ws(s, pos)
    if s[pos] != 58:  # :
        return 0
    pos = _skip_ws(s, pos + 1)
    t.nodes[obj].count += 1
    ppos[0] = pos
    pn[0] = n + 1
    return 1


@cython.final
cdef class Tape:
    """One frame parsed into nodes (declared in _cjson_tape.pxd). ``parse`` returns 0 for
    anything outside the subset the tape takes, and the reference decoder decides."""

    def __dealloc__(self):
        free(self.nodes)

    cdef int _grow(self, Py_ssize_t length) except -1:
        cdef Py_ssize_t want = length + 2
        cdef Node* nodes
        if want > 0x3FFFFFFF:
            return 0
        if want > self.cap:
            nodes = <Node*>realloc(self.nodes, want * sizeof(Node))
            if nodes == NULL:
                raise MemoryError()
            self.nodes = nodes
            self.cap = <int>want
        return 1

    cdef int parse(self, bytes data) except -1:
        # Loops rely on the NUL that CPython keeps after every bytes object's data: it is
        # neither whitespace, a digit nor a plain string byte, so scans stop on it without a
        # bounds check, and the position is checked against the length only where they stop.
        cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(data)
        cdef Py_ssize_t length = PyBytes_GET_SIZE(data)
        cdef Py_ssize_t pos = 0
        cdef int stack[MAX_DEPTH]
        cdef int depth = 0
        cdef int n = 0
        cdef int parent
        cdef unsigned char c, close
        cdef Py_ssize_t start, digits
        cdef uint64_t acc
        cdef bint neg, isfloat
        cdef Node* node
        cdef Node* nodes
        if not self._grow(length):
            return 0
        self.data = data
        self.s = s
        self.length = length
        self.memo_used = 0
        nodes = self.nodes
        pos = _skip_ws(s, pos)
        # Every iteration reads one value at pos, then the separator or closer after it.
        while True:
            c = s[pos]
            node = &nodes[n]
            node.start = <int>pos
            if c == 123 or c == 91:  # { [
                if depth == MAX_DEPTH:
                    return 0
                node.count = 0
                node.kind = K_OBJ if c == 123 else K_ARR
                node.memo = -1
                if depth and nodes[stack[depth - 1]].kind == K_ARR:
                    nodes[stack[depth - 1]].count += 1
                stack[depth] = n
                depth += 1
                n += 1
                pos = _skip_ws(s, pos + 1)
                if s[pos] == (125 if c == 123 else 93):  # an empty container
                    pos += 1
                    depth -= 1
                    nodes[stack[depth]].next = n
                    nodes[stack[depth]].end = <int>pos
                elif c == 123:
                    if not _key(self, &pos, &n, length, stack[depth - 1]):
                        return 0
                    continue
                else:
                    continue
            else:
                if depth:
                    parent = stack[depth - 1]
                    if nodes[parent].kind == K_ARR:
                        nodes[parent].count += 1
                if c == 34:  # "
                    pos = _string(s, pos, length, node)
                    if pos < 0:
                        return 0
                elif c == 45 or _DIGIT[c]:  # - digit
                    start = pos
                    neg = c == 45
                    if neg:
                        pos += 1
                        if not _DIGIT[s[pos]]:
                            return 0
                    acc = 0
                    digits = 0
                    if s[pos] == 48:
                        pos += 1
                        digits = 1
                        if _DIGIT[s[pos]]:
                            return 0  # a leading zero: invalid
                    else:
                        while _DIGIT[s[pos]]:
                            acc = acc * 10 + (s[pos] - 48)
                            digits += 1
                            pos += 1
                    isfloat = False
                    if s[pos] == 46:  # .
                        pos = _digits(s, pos + 1)
                        if pos < 0:
                            return 0
                        isfloat = True
                    if s[pos] == 101 or s[pos] == 69:  # e E
                        pos += 1
                        if s[pos] == 43 or s[pos] == 45:
                            pos += 1
                        pos = _digits(s, pos)
                        if pos < 0:
                            return 0
                        isfloat = True
                    if isfloat:
                        node.kind = K_FLOAT
                    else:
                        # Big integers and "-0" go to the reference (their text is not str(int)).
                        if digits > 18 or (neg and acc == 0):
                            return 0
                        node.kind = K_INT
                        node.ival = -<int64_t>acc if neg else <int64_t>acc
                    node.start = <int>start
                    node.end = <int>pos
                else:
                    if c == 116:  # t
                        pos = _literal(s, pos, length, node, K_TRUE, b"true", 4)
                    elif c == 102:  # f
                        pos = _literal(s, pos, length, node, K_FALSE, b"false", 5)
                    elif c == 110:  # n
                        pos = _literal(s, pos, length, node, K_NULL, b"null", 4)
                    else:
                        pos = -1
                    if pos < 0:
                        return 0  # anything else, and the end of the data where a value must be
                n += 1
                node.next = n
            # After a value: close containers, or move to the next element.
            while True:
                pos = _skip_ws(s, pos)
                if depth == 0:
                    if pos != length:
                        return 0
                    self.n = n
                    return 1
                c = s[pos]
                parent = stack[depth - 1]
                if c == 44:  # ,
                    pos = _skip_ws(s, pos + 1)
                    if nodes[parent].kind == K_OBJ:
                        if not _key(self, &pos, &n, length, parent):
                            return 0
                    break
                close = 125 if nodes[parent].kind == K_OBJ else 93
                if c == close:
                    pos += 1
                    depth -= 1
                    nodes[parent].next = n
                    nodes[parent].end = <int>pos
                    continue
                return 0  # also the end of the data (NUL) inside a container

    cdef int layout(self, int obj) noexcept:
        """Lays out object ``obj``'s members flat (see ``memo`` in the .pxd) and returns where,
        or -1 when the frame's memo space is used up (the caller walks the chain instead)."""
        cdef int count = self.nodes[obj].count
        cdef int m = obj + 1, k, base = self.memo_used
        cdef Node* key
        if base + count > MAX_MEMO:
            return -1
        for k in range(base, base + count):
            key = &self.nodes[m]
            self.memo_len[k] = key.end - key.start
            self.memo_start[k] = key.start
            self.memo_k8[k] = tape_k8(self, key.start, key.end - key.start)
            self.memo_value[k] = m + 1
            m = self.nodes[m + 1].next
        self.memo_used = base + count
        self.nodes[obj].memo = base
        return base


# -- values on the tape -------------------------------------------------------------------------
cdef object text(Tape t, int i):
    # The source text of a scalar: a string's content, a number's or literal's spelling. For
    # every scalar the tape accepts, this is exactly ``compile.map_key`` of the decoded value.
    cdef Node* node = &t.nodes[i]
    return PyUnicode_DecodeASCII(<const char*>(t.s + node.start), node.end - node.start, NULL)


cdef object decoded(Tape t, int i):
    """The value msgspec (``float_hook=str``) would give for a scalar node; bail on containers."""
    cdef int kind = t.nodes[i].kind
    if kind == K_STR or kind == K_FLOAT:
        return text(t, i)
    if kind == K_INT:
        return PyLong_FromLongLong(t.nodes[i].ival)
    if kind == K_TRUE:
        return True
    if kind == K_FALSE:
        return False
    if kind == K_NULL:
        return None
    raise Bail()


cdef int decimals_of(Tape t, int i) noexcept:
    # numbers.decimals_of: digits after the point of a decimal string (JSON floats arrive as
    # their text), 0 for anything else and for exponent notation.
    cdef Node* node = &t.nodes[i]
    cdef int k, point = -1
    if node.kind != K_STR and node.kind != K_FLOAT:
        return 0
    for k in range(node.start, node.end):
        if t.s[k] == 46 and point < 0:
            point = k
        elif t.s[k] == 101 or t.s[k] == 69:
            return 0
    return 0 if point < 0 else node.end - point - 1


cdef list elements(Tape t, int i, object slice_):
    """The element nodes of array ``i`` (``slice_`` applied when not None)."""
    cdef int m = i + 1
    cdef int count = t.nodes[i].count
    cdef list every = []
    for _ in range(count):
        every.append(m)
        m = t.nodes[m].next
    if slice_ is not None:
        return every[slice_]
    return every
