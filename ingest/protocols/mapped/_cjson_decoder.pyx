# cython: language_level=3
"""Compiled twin of the mapped JSON decoder (json_decoder.py + engine.py + the handlers).

Why it exists: the pure-Python decoder spends most of a frame building dicts, lists and strings
that the mapping never reads, then walking them through closures (docs/decisions/0015). This twin
parses the frame's bytes once into a flat *tape* (C structs: kind, byte span, next sibling) and
runs the compiled mapping plan on the tape: routing, paths, decimal strings straight to scaled
integers, the book-sync rule and the book view. Python objects are made only for what the
events hold.

Why it stays exact: the pure-Python modules are the reference, and this twin shares their state
(Sequencer, DecoderStats, Scales, each book handler's BookView and SymbolSync). Whenever a frame
is anything but the plain case (invalid or unusual JSON: escapes, non-ASCII, big numbers; a value
of an unexpected type; anything that would raise DecodeError; a book that is not LIVE; a gap; a
snapshot; a message kind this twin does not compile), the twin bails out *before it has changed
any state* and the frame goes through the reference code, which gives the reference's events, the
reference's DecodeError and the reference's state by construction. Bail-outs are rare on a real
feed and cost one extra parse.

Nothing here is venue-specific: everything comes from the Mapping structs and the reference
handlers' own compiled state. Design and measurements: docs/decisions/0116.
"""

cimport cython
from cpython.dict cimport PyDict_Size
from cpython.long cimport PyLong_AsLongAndOverflow, PyLong_AsLongLong, PyLong_FromLongLong
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

import sys
import zlib
from bisect import bisect_left, insort

import msgspec
from types import MemberDescriptorType as _MemberDescriptorType

from ingest.protocols.base import DecodeError
from pipelines.events import BookDelta, Quote, Trade

from .book import BookHandler
from .booksync import SymbolSync
from .messages import QuoteHandler, TradeHandler
from .numbers import scale as _py_scale
from .numbers import timestamp_ns as _py_timestamp_ns
from .paths import MISSING, parse_path
from .schema import FieldSpec

__all__ = ["FastPath", "fast_events", "fast_path"]

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL
    bint PyUnicode_IS_COMPACT_ASCII(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    const char* PyBytes_AS_STRING(object)
    Py_ssize_t PyBytes_GET_SIZE(object)


cdef extern from *:
    # Little-endian byte order is assumed by the 8-byte scan: checked at import below.
    int _ctz "__builtin_ctzll"(unsigned long long) nogil

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
        int flags
    int _T_OBJECT_EX "T_OBJECT_EX"
    int _READONLY "READONLY"

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    ctypedef struct PyTypeObject:
        Py_ssize_t tp_basicsize
        Py_ssize_t tp_itemsize
        unsigned long tp_flags
    unsigned long Py_TPFLAGS_HAVE_GC
    PyObject* _PyObject_GC_New(PyTypeObject*)


class _Bail(Exception):
    """Internal: this frame goes through the reference code (raised before any state change)."""


class _Unsupported(Exception):
    """Internal, at compile time: a mapping construct this twin leaves to the reference code."""


# Tape node kinds.
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
    MAX_STEPS = 8
    MAX_MEMO = 128
    S_KEY = 1
    S_INDEX = 2
    S_SLICE = 3

# INT64_MAX // 10 - 1: one more digit can never overflow an int64.
cdef uint64_t _ACC_LIMIT = 922337203685477579ULL
cdef int64_t _POW10[19]
cdef int64_t _TIME_LIMIT[10]  # the largest integer that times 10**k still fits an int64
_p = 1
for _i in range(19):
    _POW10[_i] = _p
    if _i < 10:
        _TIME_LIMIT[_i] = 9223372036854775807 // _p
    _p *= 10

_UNIT_DECIMALS = {"s": 9, "ms": 6, "us": 3, "ns": 0}
_TRADE_SIDES = frozenset({"buy", "sell", ""})
_BOOK_SIDES = {"bid": "bid", "ask": "ask", "buy": "bid", "sell": "ask"}
_ACTIONS = {"new": 1, "change": 2, "delete": 3}
_ACTION_NAMES = ("", "new", "change", "delete")
_NOTSET = object()
_LIVE = "LIVE"
_BID = "bid"
_ASK = "ask"


cdef bint _LITTLE_ENDIAN = sys.byteorder == "little"

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
    while _LITTLE_ENDIAN and pos + 8 <= length:
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


cdef struct Node:
    int kind
    int start      # strings: first byte after the quote; other kinds: first byte
    int end        # strings: the closing quote; numbers and literals: one past the last byte
    int next       # tape index of the next sibling (containers: past their last descendant)
    int count      # containers: elements (objects: members)
    int memo       # objects: where Tape.memo laid out its members (-1: not yet)
    int64_t ival   # K_INT: the value


@cython.final
cdef class Tape:
    """One frame parsed into nodes. Accepts a strict subset of what msgspec accepts: anything
    else (invalid JSON too) makes ``parse`` return 0 and the reference decoder decide."""

    cdef Node* nodes
    cdef int cap
    cdef int n
    # The members of the object looked up last, laid out flat: a mapping reads several fields
    # of the same object, and walking the tape's member chain (one dependent load per member)
    # once instead of per field is what makes key lookups cheap.
    cdef int memo_used
    cdef uint64_t memo_k8[MAX_MEMO]
    cdef int memo_len[MAX_MEMO]
    cdef int memo_start[MAX_MEMO]
    cdef int memo_value[MAX_MEMO]
    cdef const unsigned char* s
    cdef Py_ssize_t length
    cdef object data

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
        while s[pos] <= 32 and _WS[s[pos]]:
            pos += 1
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
                pos += 1
                while s[pos] <= 32 and _WS[s[pos]]:
                    pos += 1
                if s[pos] == (125 if c == 123 else 93):  # an empty container
                    pos += 1
                    depth -= 1
                    nodes[stack[depth]].next = n
                    nodes[stack[depth]].end = <int>pos
                elif c == 123:
                    if not self._key(&pos, &n, length, stack[depth - 1]):
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
                    pos += 1
                    start = pos
                    pos = _scan_string(s, pos, length)
                    # Escapes, control bytes and non-ASCII text go to the reference decoder
                    # (as does the end of the data, where the NUL stops the scan).
                    if s[pos] != 34:
                        return 0
                    node.kind = K_STR
                    node.start = <int>start
                    node.end = <int>pos
                    pos += 1
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
                        pos += 1
                        if not _DIGIT[s[pos]]:
                            return 0
                        while _DIGIT[s[pos]]:
                            pos += 1
                        isfloat = True
                    if s[pos] == 101 or s[pos] == 69:  # e E
                        pos += 1
                        if s[pos] == 43 or s[pos] == 45:
                            pos += 1
                        if not _DIGIT[s[pos]]:
                            return 0
                        while _DIGIT[s[pos]]:
                            pos += 1
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
                elif c == 116 and length - pos >= 4 and memcmp(s + pos, b"true", 4) == 0:
                    node.kind = K_TRUE
                    pos += 4
                    node.end = <int>pos
                elif c == 102 and length - pos >= 5 and memcmp(s + pos, b"false", 5) == 0:
                    node.kind = K_FALSE
                    pos += 5
                    node.end = <int>pos
                elif c == 110 and length - pos >= 4 and memcmp(s + pos, b"null", 4) == 0:
                    node.kind = K_NULL
                    pos += 4
                    node.end = <int>pos
                else:
                    return 0  # anything else, and the end of the data where a value must be
                n += 1
                node.next = n
            # After a value: close containers, or move to the next element.
            while True:
                while s[pos] <= 32 and _WS[s[pos]]:
                    pos += 1
                if depth == 0:
                    if pos != length:
                        return 0
                    self.n = n
                    return 1
                c = s[pos]
                parent = stack[depth - 1]
                if c == 44:  # ,
                    pos += 1
                    while s[pos] <= 32 and _WS[s[pos]]:
                        pos += 1
                    if nodes[parent].kind == K_OBJ:
                        if not self._key(&pos, &n, length, parent):
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

    cdef int memo(self, int obj) noexcept:
        """Lays out object ``obj``'s members flat (key length, first 8 bytes, value node) and
        returns where, or -1 when the frame's memo space is used up (the caller walks the
        chain instead)."""
        cdef int count = self.nodes[obj].count
        cdef int m = obj + 1, k, base = self.nodes[obj].memo
        cdef Node* key
        if base >= 0:
            return base
        if count <= 3:
            return -1  # a short chain walk costs less than laying it out
        base = self.memo_used
        if base + count > MAX_MEMO:
            return -1
        for k in range(base, base + count):
            key = &self.nodes[m]
            self.memo_len[k] = key.end - key.start
            self.memo_start[k] = key.start
            self.memo_k8[k] = _tape_k8(self, key.start, key.end - key.start)
            self.memo_value[k] = m + 1
            m = self.nodes[m + 1].next
        self.memo_used = base + count
        self.nodes[obj].memo = base
        return base

    cdef inline int _key(self, Py_ssize_t* ppos, int* pn, Py_ssize_t length, int obj) noexcept:
        # A member's key and its ':' (counted on object ``obj``); the parser then reads the value.
        cdef const unsigned char* s = self.s
        cdef Py_ssize_t pos = ppos[0]
        cdef Py_ssize_t start
        cdef int n = pn[0]
        cdef Node* node = &self.nodes[n]
        if s[pos] != 34:
            return 0
        pos += 1
        start = pos
        pos = _scan_string(s, pos, length)
        if s[pos] != 34:
            return 0
        node.kind = K_STR
        node.start = <int>start
        node.end = <int>pos
        node.count = 0
        node.next = n + 1
        pos += 1
        while s[pos] <= 32 and _WS[s[pos]]:
            pos += 1
        if s[pos] != 58:  # :
            return 0
        pos += 1
        while s[pos] <= 32 and _WS[s[pos]]:
            pos += 1
        self.nodes[obj].count += 1
        ppos[0] = pos
        pn[0] = n + 1
        return 1


# -- values on the tape -------------------------------------------------------------------------
cdef uint64_t _MASKS[9]
for _i in range(9):
    _MASKS[_i] = (1 << (8 * _i)) - 1 if _i < 8 else 0xFFFFFFFFFFFFFFFF


cdef inline uint64_t _tape_k8(Tape t, int start, int length) noexcept:
    # _k8 of text in the frame: one 8-byte load when 8 bytes remain in the data.
    cdef uint64_t value
    if _LITTLE_ENDIAN and start + 8 <= t.length:
        memcpy(&value, t.s + start, 8)
        return value & _MASKS[length if length < 8 else 8]
    return _k8(<const char*>(t.s + start), length)


cdef inline uint64_t _k8(const char* p, Py_ssize_t length) noexcept:
    # The first (up to) 8 bytes of a key, packed: equal keys give equal values.
    cdef uint64_t value = 0
    cdef Py_ssize_t k
    if length > 8:
        length = 8
    for k in range(length):
        value |= (<uint64_t><unsigned char>p[k]) << (8 * k)
    return value


cdef inline bint _scalar(Tape t, int i) noexcept:
    return t.nodes[i].kind >= K_STR


cdef object _text(Tape t, int i):
    # The source text of a scalar: a string's content, a number's or literal's spelling. For
    # every scalar the tape accepts, this is exactly ``compile.map_key`` of the decoded value.
    cdef Node* node = &t.nodes[i]
    return PyUnicode_DecodeASCII(<const char*>(t.s + node.start), node.end - node.start, NULL)


cdef object _value(Tape t, int i):
    """The value msgspec (``float_hook=str``) would give for a scalar node; bail on containers."""
    cdef int kind = t.nodes[i].kind
    if kind == K_STR or kind == K_FLOAT:
        return _text(t, i)
    if kind == K_INT:
        return PyLong_FromLongLong(t.nodes[i].ival)
    if kind == K_TRUE:
        return True
    if kind == K_FALSE:
        return False
    if kind == K_NULL:
        return None
    raise _Bail()


cdef inline int _decimals_of(Tape t, int i) noexcept:
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


cdef inline bint _eight_digits(uint64_t v) noexcept:
    # All 8 bytes are ASCII digits: high nibbles 3, and adding 6 keeps every low nibble <= 15.
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL
            and ((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL)


cdef inline uint64_t _eight_value(uint64_t v) noexcept:
    # The value of 8 ASCII digits loaded little-endian (first digit in the lowest byte).
    v -= 0x3030303030303030ULL
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL
    return (v * 10000 + (v >> 32)) & 0xFFFFFFFFULL


cdef int _parse_decimal(const unsigned char* p, int length, int decimals, bint truncate,
                        int64_t* out) noexcept:
    """numbers.scale of a decimal string, for the plain forms only: [-]digits[.digits].

    Returns 1 with the exact result in ``out``, or 0 when Python must decide (other spellings,
    a precision error, a result beyond int64). ``truncate``: timestamp_ns drops the digits past
    ``decimals`` (whatever they are) instead of requiring them to be zeros.
    """
    cdef int j = 0, frac = 0, ndigits = 0
    cdef bint neg = False
    cdef uint64_t acc = 0, eight
    cdef unsigned int d
    if decimals < 0 or decimals > 18:
        return 0  # scales the reference handles with Python ints (or its own errors)
    if length > 0 and p[0] == 45:
        neg = True
        j = 1
    while j < length:
        d = p[j] - 48
        if d > 9:
            break
        acc = acc * 10 + d
        ndigits += 1
        j += 1
    if j < length and p[j] == 46:
        j += 1
        if truncate and decimals == 0:
            j = length
        # Eight fraction digits at once while the scale takes them all (prices at 8 decimals).
        while _LITTLE_ENDIAN and j + 8 <= length and frac + 8 <= decimals and ndigits <= 10:
            memcpy(&eight, p + j, 8)
            if not _eight_digits(eight):
                break
            acc = acc * 100000000 + _eight_value(eight)
            frac += 8
            ndigits += 8
            j += 8
            if truncate and frac == decimals:
                j = length
        while j < length:
            d = p[j] - 48
            if d > 9:
                break
            j += 1
            if frac < decimals:
                acc = acc * 10 + d
                frac += 1
                ndigits += 1
                if truncate and frac == decimals:
                    j = length  # the rest is cut off by timestamp_ns
            elif d:
                return 0  # a digit the scale cannot hold: the reference raises precision
    if j != length or ndigits == 0 or ndigits > 18:
        return 0
    decimals -= frac
    if decimals > 18 or (decimals and acc > <uint64_t>(9223372036854775807 // _POW10[decimals])):
        return 0
    acc *= <uint64_t>_POW10[decimals]
    out[0] = -<int64_t>acc if neg else <int64_t>acc
    return 1


_POW10_OBJ = tuple(10**i for i in range(40))


cdef object _py_call_scale(object value, int decimals, bint scaled):
    try:
        return _py_scale(value, decimals, scaled)
    except DecodeError:
        raise _Bail() from None


cdef object _time(Tape t, int i, str unit, int decimals):
    """context.compile_time of a node: 0 for null, else numbers.timestamp_ns."""
    cdef Node* node = &t.nodes[i]
    cdef int64_t result
    cdef int kind = node.kind
    if kind == K_NULL:
        return 0
    if decimals >= 0:
        if kind == K_INT:
            if -_TIME_LIMIT[decimals] <= node.ival <= _TIME_LIMIT[decimals]:
                return PyLong_FromLongLong(node.ival * _POW10[decimals])
            return PyLong_FromLongLong(node.ival) * _POW10_OBJ[decimals]
        if kind == K_STR or kind == K_FLOAT:
            if _parse_decimal(t.s + node.start, node.end - node.start, decimals, True, &result):
                return PyLong_FromLongLong(result)
    return _py_call_time(_value(t, i), unit)


cdef object _py_call_time(object value, str unit):
    if value is None:
        return 0
    try:
        return _py_timestamp_ns(value, unit)
    except DecodeError:
        raise _Bail() from None


cdef object _int_value(Tape t, int i):
    """context.compile_int of a node: ids, sequence numbers, digits in strings too."""
    cdef Node* node = &t.nodes[i]
    cdef int64_t result
    cdef int kind = node.kind
    if kind == K_INT:
        return PyLong_FromLongLong(node.ival)
    if kind == K_NULL:
        return 0
    if kind == K_TRUE:
        return 1
    if kind == K_FALSE:
        return 0
    if kind == K_STR:
        if _parse_decimal(t.s + node.start, node.end - node.start, 0, False, &result):
            # "12." and "-.5"-like spellings parse here but int() refuses them: only digits.
            if _all_digits(t, i):
                return PyLong_FromLongLong(result)
        return _int_object(_text(t, i))
    raise _Bail()


cdef bint _all_digits(Tape t, int i) noexcept:
    cdef Node* node = &t.nodes[i]
    cdef int k = node.start
    if k < node.end and t.s[k] == 45:
        k += 1
    if k == node.end:
        return False
    while k < node.end:
        if not (48 <= t.s[k] <= 57):
            return False
        k += 1
    return True


cdef object _int_object(object found):
    # compile_int's conversion of a Python value; where it raises, the reference must run.
    if found is MISSING or found is None:
        return 0
    if type(found) is int:
        return found
    try:
        return int(found)
    except (TypeError, ValueError):
        raise _Bail() from None


# -- compiled paths and fields ------------------------------------------------------------------
@cython.final
cdef class CPath:
    """paths.compile_path on the tape: key, index and (last-step) slice steps."""

    cdef int nsteps
    cdef int kinds[MAX_STEPS]
    cdef Py_ssize_t indexes[MAX_STEPS]
    cdef const char* keys[MAX_STEPS]
    cdef Py_ssize_t lengths[MAX_STEPS]
    cdef uint64_t k8s[MAX_STEPS]
    cdef list _keep
    cdef object slice_
    cdef readonly bint ends_slice

    def __init__(self, str text):
        steps = parse_path(text)
        if len(steps) > MAX_STEPS:
            raise _Unsupported(f"path {text!r} is too long")
        self._keep = []
        self.nsteps = len(steps)
        self.ends_slice = False
        for k, step in enumerate(steps):
            if type(step) is str:
                encoded = step.encode("utf-8")
                self._keep.append(encoded)
                self.kinds[k] = S_KEY
                self.keys[k] = PyBytes_AS_STRING(encoded)
                self.lengths[k] = PyBytes_GET_SIZE(encoded)
                self.k8s[k] = _k8(self.keys[k], self.lengths[k])
            elif type(step) is int:
                self.kinds[k] = S_INDEX
                self.indexes[k] = step
            else:
                if k != len(steps) - 1:
                    # A slice in the middle yields a list that later steps index: rare, and
                    # left to the reference.
                    raise _Unsupported(f"path {text!r}: a slice before the last step")
                self.kinds[k] = S_SLICE
                self.slice_ = step
                self.ends_slice = True

    cdef int resolve(self, Tape t, int i) noexcept:
        """The node at the path from node ``i``, or -1 for MISSING. A path ending in a slice
        gives the array it slices (the slice itself is taken by ``elements``)."""
        cdef int k, m, found, count, base
        cdef Py_ssize_t index, klen
        cdef uint64_t k8
        cdef Node* nodes = t.nodes
        cdef const char* key
        for k in range(self.nsteps):
            if self.kinds[k] == S_KEY:
                if nodes[i].kind != K_OBJ:
                    return -1
                key = self.keys[k]
                klen = self.lengths[k]
                found = -1
                base = t.memo(i)
                if base >= 0:
                    k8 = self.k8s[k]
                    # The last of duplicate keys wins, as in a decoded dict.
                    for m in range(base, base + nodes[i].count):
                        if (t.memo_k8[m] == k8 and t.memo_len[m] == klen
                                and (klen <= 8 or memcmp(t.s + t.memo_start[m], key, klen) == 0)):
                            found = t.memo_value[m]
                    if found < 0:
                        return -1
                    i = found
                    continue
                m = i + 1
                for _ in range(nodes[i].count):
                    # Length, then first byte inline: most keys differ there (and are short).
                    if (nodes[m].end - nodes[m].start == klen
                            and (klen == 0 or t.s[nodes[m].start] == <unsigned char>key[0])
                            and (klen <= 1 or memcmp(t.s + nodes[m].start, key, klen) == 0)):
                        found = m + 1
                    m = nodes[m + 1].next
                if found < 0:
                    return -1
                i = found
            elif self.kinds[k] == S_INDEX:
                if nodes[i].kind != K_ARR:
                    return -1
                count = nodes[i].count
                index = self.indexes[k]
                if index < 0:
                    index += count
                if index < 0 or index >= count:
                    return -1
                m = i + 1
                for _ in range(index):
                    m = nodes[m].next
                i = m
            else:
                if nodes[i].kind != K_ARR:
                    return -1
        return i


cdef list _elements(Tape t, int i, object slice_):
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


@cython.final
cdef class CField:
    """compile.compile_field on the tape. ``simple``: the value is the path's node itself."""

    cdef CPath path
    cdef bint absent, is_const, simple, required
    cdef object const, default
    cdef dict table
    cdef str name, unit

    def __init__(self, field, str name, bint required=True):
        self.name = name
        self.required = required
        self.absent = field is None
        self.is_const = False
        self.simple = False
        self.unit = "ns"
        if field is None:
            return
        spec = FieldSpec(path=field) if isinstance(field, str) else field
        self.unit = spec.unit
        if spec.const is not None:
            self.is_const = True
            self.const = spec.const
            return
        self.path = CPath(spec.path)
        if self.path.ends_slice:
            raise _Unsupported(f"{name}: a slice where a value is expected")
        self.default = spec.default
        self.table = dict(spec.map) if spec.map else None
        self.simple = self.table is None and self.default is None

    cdef int node(self, Tape t, int i) except -2:
        """A simple field's node, -1 when absent and optional; bail when absent and required."""
        cdef int found = self.path.resolve(t, i)
        if found < 0 and self.required:
            raise _Bail()
        return found

    cdef object value(self, Tape t, int i):
        """The field's Python value as the reference getter returns it (MISSING when absent)."""
        cdef int found
        if self.absent:
            return MISSING
        if self.is_const:
            return self.const
        found = self.path.resolve(t, i)
        if self.table is None:
            if found < 0:
                if self.default is not None:
                    return self.default
                if self.required:
                    raise _Bail()
                return MISSING
            return _value(t, found)
        if found < 0:
            if self.default is not None:
                return self.default
            if self.required:
                raise _Bail()
            return MISSING
        if not _scalar(t, found):
            raise _Bail()
        mapped = self.table.get(_text(t, found))
        if mapped is None:
            if self.default is not None:
                return self.default
            raise _Bail()
        return mapped


@cython.final
cdef class CTime:
    """context.compile_time: integer ns, 0 when the mapping or the message has none."""

    cdef CField field
    cdef str unit
    cdef int decimals

    def __init__(self, field):
        self.field = None if field is None else CField(field, "ts_exchange", False)
        self.unit = "ns" if field is None else self.field.unit
        self.decimals = _UNIT_DECIMALS.get(self.unit, -1)

    cdef object get(self, Tape t, int i):
        cdef int found
        if self.field is None:
            return 0
        if self.field.simple:
            found = self.field.path.resolve(t, i)
            return 0 if found < 0 else _time(t, found, self.unit, self.decimals)
        return _py_call_time(_none_for_missing(self.field.value(t, i)), self.unit)


cdef inline object _none_for_missing(object value):
    return None if value is MISSING else value


@cython.final
cdef class CInt:
    """context.compile_int: an integer (digits in strings too), 0 when absent."""

    cdef CField field

    def __init__(self, field, str name, bint required=False):
        self.field = None if field is None else CField(field, name, required)

    cdef object get(self, Tape t, int i):
        cdef int found
        if self.field is None:
            return 0
        if self.field.simple:
            found = self.field.node(t, i)
            return 0 if found < 0 else _int_value(t, found)
        return _int_object(self.field.value(t, i))


# -- direct slot access -------------------------------------------------------------------------
# Counters and the sequencer are bumped on every frame. They live in __slots__ / msgspec Struct
# fields, i.e. member descriptors at a fixed offset in the object: reading and writing the slot
# costs a few ns against ~40 ns for a getattr + setattr pair. Used only when the attribute really
# is a plain object member descriptor (checked once); otherwise getattr/setattr.
cdef Py_ssize_t _member_offset(cls, str name) except -2:
    descr = getattr(cls, name, None)
    if type(descr) is not _MemberDescriptorType:
        return -1
    cdef PyMemberDef* member = (<PyMemberDescrObject*><PyObject*>descr).d_member
    if member.type != _T_OBJECT_EX or member.flags & _READONLY:
        return -1
    return member.offset


cdef inline object _slot_get(object obj, Py_ssize_t offset, str name):
    cdef PyObject* value
    if offset < 0:
        return getattr(obj, name)
    value = (<PyObject**>((<char*><PyObject*>obj) + offset))[0]
    if value == NULL:
        return getattr(obj, name)  # unset: let Python raise its AttributeError
    return <object>value


cdef inline int _slot_set(object obj, Py_ssize_t offset, str name, object value) except -1:
    cdef PyObject** slot
    cdef PyObject* old
    if offset < 0:
        setattr(obj, name, value)
        return 0
    slot = <PyObject**>((<char*><PyObject*>obj) + offset)
    old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)
    return 0


@cython.final
cdef class _Slots:
    """Offsets of the hot attributes of the shared state objects."""

    cdef Py_ssize_t messages, events, ignored, seq

    def __init__(self, stats, sequencer):
        self.messages = _member_offset(type(stats), "messages")
        self.events = _member_offset(type(stats), "events")
        self.ignored = _member_offset(type(stats), "ignored")
        self.seq = _member_offset(type(sequencer), "seq")


# -- events ------------------------------------------------------------------------------------
@cython.final
cdef class _Maker:
    """Builds one event type fast, the way msgspec's own ``__copy__`` does (allocate the object
    untracked by the GC with its slots zeroed, then fill every field slot), without matching
    keyword names. ``ok`` is False (keyword construction is used instead) unless the type's
    fields are exactly the slots written here and the result was checked equal, field for field
    and type for type (repr and msgpack), to the keyword-built event at import."""

    cdef object cls
    cdef PyTypeObject* type
    cdef Py_ssize_t offsets[16]
    cdef Py_ssize_t size
    cdef int count
    cdef readonly bint ok

    def __init__(self, cls, tuple names):
        self.cls = cls
        self.type = <PyTypeObject*>cls
        self.size = self.type.tp_basicsize - sizeof(PyObject)
        self.count = len(names)
        self.ok = (
            self.count <= 16
            and tuple(cls.__struct_fields__) == names
            and (self.type.tp_flags & Py_TPFLAGS_HAVE_GC) != 0
            and self.type.tp_itemsize == 0
        )
        for k, name in enumerate(names[:16]):
            self.offsets[k] = _member_offset(cls, name)
            if self.offsets[k] < 0:
                self.ok = False

    cdef inline object blank(self):
        cdef PyObject* event = _PyObject_GC_New(self.type)
        if event == NULL:
            raise MemoryError()
        memset(<char*>event + sizeof(PyObject), 0, self.size)
        made = <object>event  # takes a second reference: give back the allocation's own
        Py_XDECREF(event)
        return made

    cdef inline void put(self, object event, int k, object value) noexcept:
        # Into a zeroed slot: no old value to release.
        Py_INCREF(value)
        (<PyObject**>((<char*><PyObject*>event) + self.offsets[k]))[0] = <PyObject*>value


cdef _Maker _DELTAS = _Maker(
    BookDelta,
    ("stream", "symbol", "seq", "venue_seq", "ts_exchange", "ts_recv", "priority", "side",
     "price", "size", "action", "level", "implied", "batch_end", "price_decimals",
     "size_decimals"),
)
_PRIORITY = BookDelta(stream="", symbol="", side="bid", price=0, size=0, action="new").priority
_QUOTE_PRIORITY = Quote(stream="", symbol="", bid_price=0, bid_size=0, ask_price=0, ask_size=0).priority


cdef object _delta(str stream, str symbol, seq, venue_seq, ts, ts_recv, str side, price, size,
                   str action, level, bint batch_end, pd, sd):
    cdef _Maker m = _DELTAS
    if not m.ok:
        return BookDelta(
            stream=stream, symbol=symbol, seq=seq, venue_seq=venue_seq, ts_exchange=ts,
            ts_recv=ts_recv, side=side, price=price, size=size, action=action, level=level,
            batch_end=batch_end, price_decimals=pd, size_decimals=sd,
        )
    event = m.blank()
    m.put(event, 0, stream)
    m.put(event, 1, symbol)
    m.put(event, 2, seq)
    m.put(event, 3, venue_seq)
    m.put(event, 4, ts)
    m.put(event, 5, ts_recv)
    m.put(event, 6, _PRIORITY)
    m.put(event, 7, side)
    m.put(event, 8, price)
    m.put(event, 9, size)
    m.put(event, 10, action)
    m.put(event, 11, level)
    m.put(event, 12, False)
    m.put(event, 13, True if batch_end else False)
    m.put(event, 14, pd)
    m.put(event, 15, sd)
    return event


cdef _Maker _QUOTES = _Maker(
    Quote,
    ("stream", "symbol", "seq", "venue_seq", "ts_exchange", "ts_recv", "priority", "bid_price",
     "bid_size", "ask_price", "ask_size", "price_decimals", "size_decimals"),
)


cdef object _quote(str stream, str symbol, seq, venue_seq, ts, ts_recv, bid, bid_size, ask,
                   ask_size, pd, sd):
    cdef _Maker m = _QUOTES
    if not m.ok:
        return Quote(
            stream=stream, symbol=symbol, seq=seq, venue_seq=venue_seq, ts_exchange=ts,
            ts_recv=ts_recv, bid_price=bid, bid_size=bid_size, ask_price=ask, ask_size=ask_size,
            price_decimals=pd, size_decimals=sd,
        )
    event = m.blank()
    m.put(event, 0, stream)
    m.put(event, 1, symbol)
    m.put(event, 2, seq)
    m.put(event, 3, venue_seq)
    m.put(event, 4, ts)
    m.put(event, 5, ts_recv)
    m.put(event, 6, _QUOTE_PRIORITY)
    m.put(event, 7, bid)
    m.put(event, 8, bid_size)
    m.put(event, 9, ask)
    m.put(event, 10, ask_size)
    m.put(event, 11, pd)
    m.put(event, 12, sd)
    return event


def _check_makers():
    # The fast builders must give exactly what the constructor gives (values and types).
    samples = [
        (_DELTAS, BookDelta(stream="s", symbol="X", seq=7, venue_seq=8, ts_exchange=9,
                            ts_recv=10, side="ask", price=11, size=12, action="change",
                            level=3, batch_end=False, price_decimals=2, size_decimals=1),
         _delta("s", "X", 7, 8, 9, 10, "ask", 11, 12, "change", 3, False, 2, 1)),
        (_QUOTES, Quote(stream="s", symbol="X", seq=7, venue_seq=8, ts_exchange=9, ts_recv=10,
                        bid_price=11, bid_size=12, ask_price=13, ask_size=14, price_decimals=2,
                        size_decimals=1),
         _quote("s", "X", 7, 8, 9, 10, 11, 12, 13, 14, 2, 1)),
    ]
    for maker, want, got in samples:
        if (want != got or repr(want) != repr(got)
                or msgspec.msgpack.encode(want) != msgspec.msgpack.encode(got)):
            (<_Maker>maker).ok = False


_check_makers()


# -- integers ----------------------------------------------------------------------------------
@cython.final
cdef class _Ints:
    """Recently made int objects by value (direct-mapped, 1,024 slots): the compiled form of the
    reference's ScaleCache, which memoizes decimal strings to int objects because feeds repeat
    the same prices and sizes constantly. Equal values, so events are unchanged; bounded."""

    cdef int64_t values[1024]
    cdef PyObject* objects[1024]

    def __dealloc__(self):
        for k in range(1024):
            Py_XDECREF(self.objects[k])

    cdef inline object get(self, int64_t value):
        cdef unsigned int slot = <unsigned int>((<uint64_t>value * 0x9E3779B97F4A7C15ULL) >> 54)
        cdef PyObject* found = self.objects[slot]
        if found != NULL and self.values[slot] == value:
            return <object>found
        made = PyLong_FromLongLong(value)
        Py_INCREF(made)
        Py_XDECREF(found)
        self.objects[slot] = <PyObject*>made
        self.values[slot] = value
        return made


# -- per-symbol state ---------------------------------------------------------------------------
@cython.final
cdef class _Sym:
    """One symbol's references into the reference state, looked up once. All of these objects
    are created once per symbol by the reference code and only ever mutated in place (the
    Scales list by learn(), the book view's dicts and lists by set/truncate/clear), so holding
    them is the same as looking them up again."""

    cdef str symbol
    cdef uint64_t k8           # the symbol's first 8 bytes (ASCII symbols, see _SymbolCache)
    cdef list decimals         # Scales._by_symbol[symbol]: [price_decimals, size_decimals]
    cdef object book, sync     # the book handler's (BookView, SymbolSync), None until known
    cdef dict bid_levels, ask_levels, ids
    cdef list bid_keys, ask_keys

    cdef int bind(self, state) except -1:
        book, sync = state
        self.book = book
        self.sync = sync
        self.bid_levels = book.bids.levels
        self.bid_keys = book.bids.keys
        self.ask_levels = book.asks.levels
        self.ask_keys = book.asks.keys
        self.ids = book.ids
        return 0


@cython.final
cdef class _SymbolCache:
    """Symbols repeat on every message: find the entry by the symbol's bytes, no str made."""

    cdef list items
    cdef dict by_name

    def __init__(self):
        self.items = []
        self.by_name = {}

    cdef _Sym at(self, Tape t, int i):
        cdef Node* node = &t.nodes[i]
        cdef Py_ssize_t length = node.end - node.start
        cdef const char* start = <const char*>(t.s + node.start)
        cdef _Sym item
        if node.kind != K_STR and node.kind != K_INT:
            raise _Bail()  # compile_symbol raises bad_symbol on anything else
        cdef uint64_t k8 = _tape_k8(t, node.start, <int>length)
        # Entries here were all made from tape text, so they are ASCII and their data is the
        # bytes compared.
        for item in self.items:
            if (item.k8 == k8 and PyUnicode_GET_LENGTH(item.symbol) == length
                    and (length <= 8 or memcmp(PyUnicode_DATA(item.symbol), start, length) == 0)):
                return item
        item = self.named(_text(t, i))
        item.k8 = k8
        if len(self.items) >= 64:
            self.items = []
        self.items.append(item)
        return item

    cdef _Sym named(self, str symbol):
        cdef _Sym item = self.by_name.get(symbol)
        if item is None:
            if len(self.by_name) >= 100_000:
                self.by_name = {}
            item = _Sym()
            item.symbol = symbol
            self.by_name[symbol] = item
        return item


# -- handlers -----------------------------------------------------------------------------------
cdef class _Handler:
    """What every compiled handler holds: the reference context, root, symbol, ts, venue seq."""

    cdef object ctx, scales_by, scales, sequencer, stats
    cdef str stream
    cdef CPath root
    cdef CField symbol
    cdef CTime ts
    cdef CInt vseq
    cdef _SymbolCache symbols
    cdef _Slots slots
    cdef _Ints ints
    cdef bint scaled

    def __init__(self, ctx, spec):
        self.ctx = ctx
        self.stream = ctx.stream
        self.scales = ctx.scales
        self.scales_by = ctx.scales._by_symbol
        self.scaled = ctx.scales.scaled
        self.sequencer = ctx.sequencer
        self.stats = ctx.stats
        self.slots = _Slots(ctx.stats, ctx.sequencer)
        self.root = CPath(spec.root)
        if self.root.ends_slice:
            raise _Unsupported("root: a slice")
        self.symbol = CField(spec.symbol, "symbol")
        self.ts = CTime(spec.ts_exchange)
        self.vseq = CInt(spec.venue_seq, "venue_seq")
        self.symbols = _SymbolCache()
        self.ints = _Ints()

    cdef _Sym sym_of(self, Tape t, int body):
        cdef _Sym sym
        if self.symbol.simple:
            sym = self.symbols.at(t, self.symbol.node(t, body))
        else:
            value = self.symbol.value(t, body)
            if type(value) is int:
                value = str(value)
            elif type(value) is not str:
                raise _Bail()
            sym = self.symbols.named(value)
        return sym

    cdef list decimals_of(self, _Sym sym):
        # The symbol's Scales list. Its first use is left to the reference (Scales.get creates
        # it, and that is state the reference creates only on some paths).
        if sym.decimals is None:
            sym.decimals = self.scales_by.get(sym.symbol)
            if sym.decimals is None:
                raise _Bail()
        return sym.decimals

    cdef int64_t next_seq(self) except? -1:
        # The sequencer's last seq, as a C integer (bail in the unlikely case it is not one).
        value = _slot_get(self.sequencer, self.slots.seq, "seq")
        if type(value) is not int:
            raise _Bail()
        try:
            return PyLong_AsLongLong(value)
        except OverflowError:
            raise _Bail() from None

    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1:
        raise NotImplementedError


cdef inline int _check_decimals(object pd, object sd) except -1:
    # Scales the C code takes: ints in 0..38 (a mapping may set any int; the reference decides
    # what other values do). Compared as C longs: this runs on every message.
    cdef int overflow = 0
    cdef long p, q
    if type(pd) is not int or type(sd) is not int:
        raise _Bail()
    p = PyLong_AsLongAndOverflow(pd, &overflow)
    if overflow == 0:
        q = PyLong_AsLongAndOverflow(sd, &overflow)
    if overflow != 0 or p < 0 or p > 38 or q < 0 or q > 38:
        raise _Bail()
    return 0


cdef int _max_decimals(Tape t, int a, int b) noexcept:
    cdef int x = _decimals_of(t, a)
    cdef int y = _decimals_of(t, b) if b >= 0 else 0
    return x if x > y else y


cdef int64_t _scale64(Tape t, int i, int decimals, bint scaled) except? -1:
    """numbers.scale of a node as a C integer; bail where the reference raises, and for values
    beyond int64 (the reference's big ints are exact; such prices are left to it)."""
    cdef Node* node = &t.nodes[i]
    cdef int64_t result
    cdef int kind = node.kind
    if kind == K_STR or kind == K_FLOAT:
        if _parse_decimal(t.s + node.start, node.end - node.start, decimals, False, &result):
            return result
        value = _py_call_scale(_text(t, i), decimals, scaled)
    elif kind == K_INT:
        if scaled:
            return node.ival
        if decimals < 0 or decimals >= 40:
            raise _Bail()  # the reference's POW10 lookup decides (IndexError -> bad_shape)
        value = PyLong_FromLongLong(node.ival) * _POW10_OBJ[decimals]
    else:
        raise _Bail()
    try:
        return PyLong_AsLongLong(value)
    except OverflowError:
        raise _Bail() from None


@cython.final
cdef class _Quote(_Handler):
    cdef CField bid, bid_size, ask, ask_size

    def __init__(self, ctx, spec):
        _Handler.__init__(self, ctx, spec)
        self.bid = _simple(spec.bid_price, "bid_price")
        self.bid_size = _simple(spec.bid_size, "bid_size")
        self.ask = _simple(spec.ask_price, "ask_price")
        self.ask_size = _simple(spec.ask_size, "ask_size")

    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1:
        cdef int body = self.root.resolve(t, frame)
        if body < 0:
            raise _Bail()
        cdef _Sym sym = self.sym_of(t, body)
        cdef int bid = self.bid.node(t, body)
        cdef int bid_size = self.bid_size.node(t, body)
        cdef int ask = self.ask.node(t, body)
        cdef int ask_size = self.ask_size.node(t, body)
        decimals = self.decimals_of(sym)
        pd = decimals[0]
        sd = decimals[1]
        learn_pd = pd is None
        learn_sd = sd is None
        if learn_pd:
            pd = _max_decimals(t, bid, ask)
        if learn_sd:
            sd = _max_decimals(t, bid_size, ask_size)
        _check_decimals(pd, sd)
        venue_seq = self.vseq.get(t, body)
        ts = self.ts.get(t, body)
        cdef bint scaled = self.scaled
        cdef int64_t bid_price = _scale64(t, bid, pd, scaled)
        cdef int64_t bid_qty = _scale64(t, bid_size, sd, scaled)
        cdef int64_t ask_price = _scale64(t, ask, pd, scaled)
        cdef int64_t ask_qty = _scale64(t, ask_size, sd, scaled)
        cdef int64_t seq = self.next_seq() + 1
        # Nothing can fail from here on: commit.
        if learn_pd:
            decimals[0] = pd
        if learn_sd:
            decimals[1] = sd
        seq_obj = PyLong_FromLongLong(seq)
        _slot_set(self.sequencer, self.slots.seq, "seq", seq_obj)
        out.append(
            _quote(
                self.stream, sym.symbol, seq_obj, venue_seq, ts, ts_recv,
                self.ints.get(bid_price), self.ints.get(bid_qty),
                self.ints.get(ask_price), self.ints.get(ask_qty), pd, sd,
            )
        )
        return 1


cdef CField _simple(field, str name):
    compiled = CField(field, name)
    if not compiled.simple:
        # A price from a map or a constant: legal, rare, left to the reference.
        raise _Unsupported(f"{name}: only a path is compiled")
    return compiled


@cython.final
cdef class _Trade(_Handler):
    cdef CField price, size, side, trade_id

    def __init__(self, ctx, spec):
        _Handler.__init__(self, ctx, spec)
        self.price = _simple(spec.price, "price")
        self.size = _simple(spec.size, "size")
        self.side = CField(spec.side, "side", False)
        self.trade_id = CField(spec.trade_id, "trade_id", False)

    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1:
        cdef int body = self.root.resolve(t, frame)
        if body < 0:
            raise _Bail()
        cdef _Sym sym = self.sym_of(t, body)
        cdef int price = self.price.node(t, body)
        cdef int size = self.size.node(t, body)
        decimals = self.decimals_of(sym)
        pd = decimals[0]
        sd = decimals[1]
        learn_pd = pd is None
        learn_sd = sd is None
        if learn_pd:
            pd = _decimals_of(t, price)
        if learn_sd:
            sd = _decimals_of(t, size)
        _check_decimals(pd, sd)
        side = self.side.value(t, body)
        if side is MISSING:
            side = ""
        if type(side) is not str or side not in _TRADE_SIDES:
            raise _Bail()
        trade_id = self.trade_id.value(t, body)
        if trade_id is MISSING:
            trade_id = ""
        elif type(trade_id) is not str:
            trade_id = str(trade_id)  # messages._text: str() of a scalar
        venue_seq = self.vseq.get(t, body)
        ts = self.ts.get(t, body)
        cdef bint scaled = self.scaled
        cdef int64_t price_value = _scale64(t, price, pd, scaled)
        cdef int64_t size_value = _scale64(t, size, sd, scaled)
        cdef int64_t seq = self.next_seq() + 1
        if learn_pd:
            decimals[0] = pd
        if learn_sd:
            decimals[1] = sd
        seq_obj = PyLong_FromLongLong(seq)
        _slot_set(self.sequencer, self.slots.seq, "seq", seq_obj)
        out.append(
            Trade(
                stream=self.stream,
                symbol=sym.symbol,
                seq=seq_obj,
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                price=PyLong_FromLongLong(price_value),
                size=PyLong_FromLongLong(size_value),
                price_decimals=pd,
                size_decimals=sd,
                side=side,
                trade_id=trade_id,
            )
        )
        return 1


@cython.final
cdef class _Levels:
    """One compiled ``levels`` list (book._Levels on the tape)."""

    cdef CPath get, price, size, id
    cdef CField side_field, action
    cdef CInt level
    cdef CTime ts
    cdef int side
    cdef bint snapshot, single, plain

    def __init__(self, spec):
        self.get = CPath(spec.path)
        self.side = 0 if spec.side == "bid" else 1
        self.side_field = CField(spec.side_field, "side") if spec.side_field else None
        self.price = CPath(spec.price)
        self.size = CPath(spec.size)
        self.id = CPath(spec.id) if spec.id else None
        for path in (self.price, self.size, self.id):
            if path is not None and path.ends_slice:
                raise _Unsupported("a level value path ends in a slice")
        self.action = CField(spec.action, "action") if spec.action else None
        self.level = CInt(spec.level, "level") if spec.level else None
        self.ts = CTime(spec.ts_exchange) if spec.ts_exchange else None
        self.snapshot = spec.snapshot
        self.single = spec.single
        self.plain = (
            spec.price == "[0]"
            and spec.size == "[1]"
            and not (spec.single or spec.side_field or spec.id or spec.action or spec.level)
            and spec.ts_exchange is None
        )


# One level of an update, read and scaled before anything changes (book.RawLevel on the tape).
cdef struct Raw:
    int side        # 0 bid, 1 ask
    int price       # node, -1 MISSING (a level keyed by id)
    int size        # node, -1 MISSING
    int action      # the feed's action: 0 none, 1 new, 2 change, 3 delete
    int extra       # index into the per-entry lists (id, level, ts); -1: plain (None, 0, message ts)
    int64_t price_v
    int64_t size_v


@cython.final
cdef class _Book(_Handler):
    cdef object handler, books, ts_default
    cdef list levels, raw_ids, raw_levels, raw_ts
    cdef CPath bodies
    cdef bint has_snapshot_lists, has_ids, checks
    cdef str rule
    cdef CInt first, last, prev
    cdef CPath checksum
    cdef _Checksum crc     # None: the reference's checksum function runs
    cdef int depth
    cdef Raw* raw
    cdef int raw_cap
    cdef Py_ssize_t state_offset

    def __init__(self, ctx, spec, handler):
        _Handler.__init__(self, ctx, spec)
        self.handler = handler
        self.books = handler._books
        self.state_offset = _member_offset(SymbolSync, "state")
        self.bodies = CPath(spec.bodies) if spec.bodies else None
        self.levels = [_Levels(levels) for levels in spec.levels]
        self.has_snapshot_lists = any(levels.snapshot for levels in spec.levels)
        self.has_ids = any(levels.id for levels in spec.levels)
        sync = spec.sync
        self.rule = sync.rule
        self.first = CInt(sync.first_id, "first_id", True) if sync.first_id else None
        self.last = CInt(sync.last_id, "last_id", True) if sync.last_id else None
        self.prev = CInt(sync.prev_id, "prev_id", True) if sync.prev_id else None
        self.checks = spec.checksum is not None and ctx.verify_checksum
        self.checksum = CPath(spec.checksum.path) if spec.checksum else None
        self.crc = None
        if spec.checksum is not None and _CRC_OK and spec.checksum.separator.isascii():
            self.crc = _Checksum(spec.checksum)
        self.depth = spec.depth
        self.raw_ids = []
        self.raw_levels = []
        self.raw_ts = []

    def __dealloc__(self):
        free(self.raw)

    cdef Raw* _slot(self, int index) except NULL:
        cdef Raw* grown
        if index >= self.raw_cap:
            grown = <Raw*>realloc(self.raw, (index * 2 + 16) * sizeof(Raw))
            if grown == NULL:
                raise MemoryError()
            self.raw = grown
            self.raw_cap = index * 2 + 16
        return &self.raw[index]

    cdef list _bodies(self, Tape t, int body):
        cdef int found
        if self.bodies is None:
            return [body]
        found = self.bodies.resolve(t, body)
        if found < 0:
            raise _Bail()  # missing_field "bodies"
        if self.bodies.ends_slice:
            return _elements(t, found, self.bodies.slice_)
        if t.nodes[found].kind == K_ARR:
            return _elements(t, found, None)
        return [found]

    cdef bint _is_snapshot(self, Tape t, int part) noexcept:
        cdef _Levels lv
        for lv in self.levels:
            if lv.snapshot and lv.get.resolve(t, part) >= 0:
                return True
        return False

    cdef int _read(self, Tape t, int part, int n) except -1:
        """book._read_levels + _Levels.read for the update lists of one body: appends to
        self.raw from index ``n``, returns the new count; bails where the reference raises."""
        cdef int entries, entry, found, count
        cdef _Levels lv
        cdef Raw* r
        cdef list items
        cdef Node* nodes
        for lv in self.levels:
            if lv.snapshot:
                continue
            entries = lv.get.resolve(t, part)
            if entries < 0:
                continue
            nodes = t.nodes
            if lv.plain and not lv.get.ends_slice and nodes[entries].kind == K_ARR:
                # [price, size, ...] arrays, the side given per list: the common shape.
                entry = entries + 1
                for _ in range(nodes[entries].count):
                    if nodes[entry].kind != K_ARR or nodes[entry].count < 2:
                        raise _Bail()  # bad_levels
                    r = self._slot(n)
                    r.side = lv.side
                    r.price = entry + 1
                    r.size = nodes[entry + 1].next
                    r.action = 0
                    r.extra = -1
                    n += 1
                    entry = nodes[entry].next
                continue
            if lv.single:
                items = [entries]
            elif lv.get.ends_slice:
                items = _elements(t, entries, lv.get.slice_)
            elif nodes[entries].kind == K_ARR:
                items = _elements(t, entries, None)
            else:
                raise _Bail()  # bad_levels
            for entry in items:
                r = self._slot(n)
                if lv.plain:
                    if t.nodes[entry].kind != K_ARR or t.nodes[entry].count < 2:
                        raise _Bail()
                    r.side = lv.side
                    r.price = entry + 1
                    r.size = t.nodes[entry + 1].next
                    r.action = 0
                    r.extra = -1
                    n += 1
                    continue
                r.side = lv.side
                if lv.side_field is not None:
                    value = lv.side_field.value(t, entry)
                    if type(value) is not str:
                        raise _Bail()
                    side = _BOOK_SIDES.get(value)
                    if side is None:
                        raise _Bail()  # bad_side
                    r.side = 0 if side == "bid" else 1
                r.action = 0
                if lv.action is not None:
                    value = lv.action.value(t, entry)
                    if type(value) is not str or value not in _ACTIONS:
                        raise _Bail()  # bad_action
                    r.action = _ACTIONS[value]
                r.price = lv.price.resolve(t, entry)
                r.size = lv.size.resolve(t, entry)
                if lv.id is not None:
                    found = lv.id.resolve(t, entry)
                    level_id = MISSING if found < 0 else _value(t, found)
                else:
                    level_id = None
                r.extra = len(self.raw_ids)
                self.raw_ids.append(level_id)
                self.raw_levels.append(lv.level.get(t, entry) if lv.level is not None else 0)
                self.raw_ts.append(lv.ts.get(t, entry) if lv.ts is not None else self.ts_default)
                n += 1
        return n

    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1:
        cdef int body = self.root.resolve(t, frame)
        cdef int part, n, k, found, pd_i, sd_i, x
        cdef list bodies = None
        cdef Raw* r
        cdef bint scaled = self.scaled
        if body < 0:
            raise _Bail()
        cdef _Sym sym = self.sym_of(t, body)
        if self.bodies is not None:
            bodies = self._bodies(t, body)
        if self.has_snapshot_lists:
            if bodies is None:
                if self._is_snapshot(t, body):
                    raise _Bail()  # an in-stream snapshot: the reference installs it
            else:
                for part in bodies:
                    if self._is_snapshot(t, part):
                        raise _Bail()
        if sym.sync is None:
            state = self.books.get(sym.symbol)
            if state is None:
                raise _Bail()  # the first message of a symbol: the reference creates its state
            sym.bind(state)
        sync = sym.sync
        sync_state = _slot_get(sync, self.state_offset, "state")
        if sync_state is not _LIVE and sync_state != _LIVE:
            raise _Bail()  # buffering or dropping while unsynced: the reference's job
        upto = None
        if self.last is not None:
            upto = self.last.get(t, body)
            first = self.first.get(t, body) if self.first is not None else upto
            prev = self.prev.get(t, body) if self.prev is not None else first - 1
            if not _applies(self.rule, sync.last, sync.fresh, first, upto, prev):
                raise _Bail()  # stale or a gap
        ts_exchange = self.ts.get(t, body)
        if self.raw_ids:
            self.raw_ids = []
            self.raw_levels = []
            self.raw_ts = []
        self.ts_default = ts_exchange
        if bodies is None:
            n = self._read(t, body, 0)
        else:
            n = 0
            for part in bodies:
                n = self._read(t, part, n)
        venue_seq = self.vseq.get(t, body)
        decimals = None
        pd = sd = None
        learn_pd = learn_sd = False
        if n:
            decimals = self.decimals_of(sym)
            pd = decimals[0]
            sd = decimals[1]
            # Scales learnt from this message's values when still unknown (stored at commit).
            learn_pd = pd is None
            learn_sd = sd is None
            if learn_pd or learn_sd:
                pd_i = sd_i = 0
                for k in range(n):
                    r = &self.raw[k]
                    if r.price >= 0:
                        x = _decimals_of(t, r.price)
                        pd_i = x if x > pd_i else pd_i
                    if r.size >= 0:
                        x = _decimals_of(t, r.size)
                        sd_i = x if x > sd_i else sd_i
                if learn_pd:
                    pd = pd_i
                if learn_sd:
                    sd = sd_i
            _check_decimals(pd, sd)
            overlay = {} if self.has_ids else None
            for k in range(n):
                r = &self.raw[k]
                if r.size < 0 or r.action == 3:
                    r.size_v = 0
                else:
                    r.size_v = _scale64(t, r.size, sd, scaled)
                if r.extra < 0:
                    r.price_v = _scale64(t, r.price, pd, scaled)
                    continue
                level_id = self.raw_ids[r.extra]
                if r.price < 0:
                    # A level keyed by id: its price comes from the insert (this message's
                    # earlier levels first, then the book's ids).
                    known = None
                    if level_id is not None:
                        known = overlay.get(level_id, _NOTSET)
                        if known is _NOTSET:
                            known = sym.ids.get(level_id)
                    if known is None:
                        raise _Bail()  # unknown_level: the reference raises it mid-message
                    side, price = known
                    if type(price) is not int:
                        raise _Bail()
                    try:
                        r.price_v = PyLong_AsLongLong(price)
                    except OverflowError:
                        raise _Bail() from None
                    r.side = 0 if side == "bid" else 1
                else:
                    r.price_v = _scale64(t, r.price, pd, scaled)
                    if level_id is not None:
                        overlay[level_id] = ("bid" if r.side == 0 else "ask", r.price_v)
                if level_id is not None and r.size_v == 0:
                    overlay[level_id] = None
        expected = None
        if self.checks:
            if bodies is None:
                found = self.checksum.resolve(t, body)
                if found >= 0:
                    expected = _checksum_value(t, found)
            else:
                for part in bodies:
                    found = self.checksum.resolve(t, part)
                    if found >= 0:
                        expected = _checksum_value(t, found)
                        break
        cdef int64_t seq = self.next_seq() if n else 0
        # Nothing can fail from here on: commit, in the reference's order.
        if upto is not None:
            sync.last = upto
            sync.fresh = False
        if n:
            if learn_pd:
                decimals[0] = pd
            if learn_sd:
                decimals[1] = sd
            self._apply(t, sym, n, venue_seq, ts_recv, pd, sd, seq, out)
        if expected is not None:
            pd, sd = self.scales.get(sym.symbol)
            stats = self.stats
            stats.checksums += 1
            computed = None
            if self.crc is not None:
                computed = self.crc.compute(sym, pd or 0, sd or 0)
            if computed is None:
                computed = self.handler._checksum(sym.book, pd or 0, sd or 0)
            if computed != expected:
                stats.checksum_mismatches += 1
                self.handler._lose_sync(
                    sym.symbol, sync, f"checksum mismatch: feed {expected}", ts_recv, out
                )
        return 1

    cdef int _apply(self, Tape t, _Sym sym, int n, venue_seq, ts_recv, pd, sd, int64_t seq,
                    list out) except -1:
        """book._emit_deltas after validation: apply each level to the book view (SideView.set
        inline), truncate to the depth, emit one BookDelta per entry with consecutive seq."""
        cdef int k, action, last = n - 1
        cdef Raw* r
        cdef dict levels
        cdef list keys
        cdef list pending = None
        cdef Py_ssize_t count
        cdef str stream = self.stream
        cdef str symbol = sym.symbol
        cdef bint depth = self.depth != 0
        cdef bint ids = self.has_ids
        seq_obj = None
        if depth:
            pending = []
        for k in range(n):
            r = &self.raw[k]
            price = self.ints.get(r.price_v)
            size = self.ints.get(r.size_v)
            side = _BID if r.side == 0 else _ASK
            if ids and r.extra >= 0:
                level_id = self.raw_ids[r.extra]
                if level_id is not None:
                    if r.price >= 0:  # else the price came from ids (validated above)
                        sym.ids[level_id] = (side, price)
                    if r.size_v == 0:
                        sym.ids.pop(level_id, None)
            if r.side == 0:
                levels = sym.bid_levels
                keys = sym.bid_keys
            else:
                levels = sym.ask_levels
                keys = sym.ask_keys
            if r.size_v != 0:
                # SideView.set: one dict operation tells new from change (the dict grows); the
                # key list and the dict end as the reference leaves them.
                count = PyDict_Size(levels)
                levels[price] = size
                if PyDict_Size(levels) != count:
                    # The sorted key (SideView.sign * price) is made only when the list changes.
                    insort(keys, price if r.side == 0 else PyLong_FromLongLong(-r.price_v))
                    action = 1
                else:
                    action = 2
            else:
                if price in levels:
                    del levels[price]
                    key = price if r.side == 0 else PyLong_FromLongLong(-r.price_v)
                    count = len(keys)
                    if keys[count - 1] == key:
                        del keys[count - 1]
                    else:
                        del keys[bisect_left(keys, key)]
                action = 3
            if r.action:
                action = r.action
            if r.extra < 0:
                level = 0
                ts = self.ts_default
            else:
                level = self.raw_levels[r.extra]
                ts = self.raw_ts[r.extra]
            if depth:
                pending.append((side, price, size, _ACTION_NAMES[action], level, ts))
                continue
            seq += 1
            seq_obj = PyLong_FromLongLong(seq)
            out.append(
                _delta(
                    stream, symbol, seq_obj, venue_seq, ts, ts_recv, side,
                    price, size, _ACTION_NAMES[action], level, k == last, pd, sd,
                )
            )
        if depth:
            book = sym.book
            for side_name, side_view in ((_BID, book.bids), (_ASK, book.asks)):
                for price in side_view.truncate(self.depth):
                    ts = pending[len(pending) - 1][5]
                    pending.append((side_name, price, 0, "delete", 0, ts))
            last = len(pending) - 1
            for k in range(last + 1):
                side, price, size, action_name, level, ts = pending[k]
                seq += 1
                seq_obj = PyLong_FromLongLong(seq)
                out.append(
                    _delta(
                        stream, symbol, seq_obj, venue_seq, ts, ts_recv, side,
                        price, size, action_name, level, k == last, pd, sd,
                    )
                )
        # The last event's seq object is the sequencer's new value.
        _slot_set(self.sequencer, self.slots.seq, "seq", seq_obj)
        return 0


cdef object _checksum_value(Tape t, int i):
    # int(expected) in book._verify; where it raises (bad_checksum), the reference must run.
    cdef int kind = t.nodes[i].kind
    if kind == K_INT:
        return PyLong_FromLongLong(t.nodes[i].ival)
    if kind == K_TRUE:
        return 1
    if kind == K_FALSE:
        return 0
    if kind == K_STR:
        try:
            return int(_text(t, i))
        except ValueError:
            raise _Bail() from None
    raise _Bail()


cdef bint _applies(str rule, last, bint fresh, first, upto, prev) except -1:
    """booksync.check(...) == APPLY."""
    if last is None or rule == "none":
        return True
    if rule == "update_id_range":
        if upto <= last:
            return False
        if fresh:
            return first <= last + 1 <= upto
        return first == last + 1
    if rule == "prev_id_chain":
        if upto < last or (not fresh and upto <= last):
            return False
        if fresh:
            return min(first, prev) <= last <= upto
        return prev == last
    if upto <= last:
        return False
    return upto == last + 1


# -- checksums ---------------------------------------------------------------------------------
cdef uint32_t _CRC_TABLE[256]
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE[_i] = _c


cdef uint32_t _crc32(const unsigned char* p, Py_ssize_t length) noexcept:
    # CRC-32 (IEEE 802.3, reflected), as zlib.crc32; checked against it at import.
    cdef uint32_t crc = 0xFFFFFFFF
    cdef Py_ssize_t k
    for k in range(length):
        crc = _CRC_TABLE[(crc ^ p[k]) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


cdef bint _CRC_OK = _crc32(<const unsigned char*>b"Tickerplant 0.35130000", 22) == zlib.crc32(
    b"Tickerplant 0.35130000"
)


cdef Py_ssize_t _put_int(char* out, int64_t value, int decimals, bint digits) noexcept:
    """Writes ``value`` as checksum.py formats it: str(value) for ``digits``, else
    pipelines.events.format_scaled(value, decimals) (decimals >= 0 here). Returns the length."""
    cdef char buffer[48]
    cdef int n = 0, k, width
    cdef uint64_t magnitude = <uint64_t>(-(value + 1)) + 1 if value < 0 else <uint64_t>value
    cdef Py_ssize_t length = 0
    while True:
        buffer[n] = <char>(48 + magnitude % 10)
        n += 1
        magnitude //= 10
        if magnitude == 0:
            break
    if not digits and decimals > 0:
        width = decimals + 1  # rjust(decimals + 1, "0")
        while n < width:
            buffer[n] = 48
            n += 1
    if value < 0:
        out[length] = 45
        length += 1
    for k in range(n - 1, -1, -1):
        if not digits and decimals > 0 and k == decimals - 1:
            out[length] = 46  # the point before the last ``decimals`` digits
            length += 1
        out[length] = buffer[k]
        length += 1
    return length


@cython.final
cdef class _Checksum:
    """checksum.compile_checksum in C over the shared book view: the top ``depth`` levels of
    each side, formatted, joined by the separator, CRC-32. ``compute`` returns None where the
    reference function must run (a value past int64, an overlong text)."""

    cdef int depth, order
    cdef bint digits, signed
    cdef bytes separator
    cdef char* buffer
    cdef Py_ssize_t capacity

    def __init__(self, spec):
        self.separator = spec.separator.encode("ascii")  # non-ASCII: _Unsupported (caller)
        self.depth = spec.depth
        self.order = {"asks_then_bids": 0, "bids_then_asks": 1}.get(spec.order, 2)
        self.digits = spec.format == "digits"
        self.signed = spec.signed
        self.capacity = 2 * spec.depth * (2 * 48 + 2 * len(self.separator)) + 16
        self.buffer = <char*>malloc(self.capacity)
        if self.buffer == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.buffer)

    cdef Py_ssize_t _level(self, Py_ssize_t at, dict levels, list keys, int sign, Py_ssize_t k,
                           int pd, int sd) except -2:
        # Level k of a side (0 = best): "<price><sep><size>"; -1 when a value is not an int64.
        cdef Py_ssize_t count = len(keys)
        cdef const char* sep = PyBytes_AS_STRING(self.separator)
        cdef Py_ssize_t slen = PyBytes_GET_SIZE(self.separator)
        key = keys[count - 1 - k]
        price = key if sign > 0 else -key
        size = levels[price]
        if type(price) is not int or type(size) is not int:
            return -1
        try:
            p = PyLong_AsLongLong(price)
            q = PyLong_AsLongLong(size)
        except OverflowError:
            return -1
        at += _put_int(self.buffer + at, p, pd, self.digits)
        memcpy(self.buffer + at, sep, slen)
        at += slen
        at += _put_int(self.buffer + at, q, sd, self.digits)
        return at

    cdef object compute(self, _Sym sym, object pd_value, object sd_value):
        cdef Py_ssize_t at = 0, k, asks, bids, total, slen
        cdef int pd, sd
        cdef const char* sep = PyBytes_AS_STRING(self.separator)
        cdef uint32_t value
        cdef int side, first, second
        cdef int64_t result
        slen = PyBytes_GET_SIZE(self.separator)
        if (type(pd_value) is not int or type(sd_value) is not int
                or not (0 <= pd_value <= 18 and 0 <= sd_value <= 18)):
            return None  # format_scaled's other branches: the reference formats them
        pd = pd_value
        sd = sd_value
        asks = min(self.depth, len(sym.ask_keys))
        bids = min(self.depth, len(sym.bid_keys))
        total = 0
        if self.order == 2:
            # interleaved: bid 0, ask 0, bid 1, ask 1, ...
            for k in range(max(asks, bids)):
                for side in range(2):
                    if (side == 0 and k >= bids) or (side == 1 and k >= asks):
                        continue
                    if total:
                        memcpy(self.buffer + at, sep, slen)
                        at += slen
                    if side == 0:
                        at = self._level(at, sym.bid_levels, sym.bid_keys, 1, k, pd, sd)
                    else:
                        at = self._level(at, sym.ask_levels, sym.ask_keys, -1, k, pd, sd)
                    if at < 0:
                        return None
                    total += 1
        else:
            first = 1 if self.order == 0 else 0  # 1: asks first
            for side in (first, 1 - first):
                for k in range(asks if side == 1 else bids):
                    if total:
                        memcpy(self.buffer + at, sep, slen)
                        at += slen
                    if side == 0:
                        at = self._level(at, sym.bid_levels, sym.bid_keys, 1, k, pd, sd)
                    else:
                        at = self._level(at, sym.ask_levels, sym.ask_keys, -1, k, pd, sd)
                    if at < 0:
                        return None
                    total += 1
        value = _crc32(<const unsigned char*>self.buffer, at)
        result = value
        if self.signed and value >= 0x80000000:
            result -= 0x100000000
        return PyLong_FromLongLong(result)


# -- the engine ---------------------------------------------------------------------------------
cdef int _count_parts(const unsigned char* s, int start, int end, const char* sep,
                      Py_ssize_t slen) noexcept:
    cdef int parts = 1, k = start
    while k + slen <= end:
        if memcmp(s + k, sep, slen) == 0:
            parts += 1
            k += slen
        else:
            k += 1
    return parts


cdef bint _part(const unsigned char* s, int* start, int* end, const char* sep, Py_ssize_t slen,
                int index) noexcept:
    # Narrows [start, end) to part ``index`` of the split; False when there are fewer parts.
    cdef int k = start[0], begin = start[0], limit = end[0], part = 0
    while k + slen <= limit:
        if memcmp(s + k, sep, slen) == 0:
            if part == index:
                end[0] = k
                start[0] = begin
                return True
            part += 1
            k += slen
            begin = k
        else:
            k += 1
    if part == index:
        start[0] = begin
        return True
    return False


@cython.final
cdef class _Route:
    cdef CPath path
    cdef bytes split
    cdef Py_ssize_t part
    cdef list keys
    cdef uint64_t* k8s    # each key's first 8 bytes

    def __dealloc__(self):
        free(self.k8s)
    cdef list targets     # message names
    cdef list handlers    # what each target runs: see FastPath._target


@cython.final
cdef class FastPath:
    """The compiled decode of one MappedJsonDecoder: ``decode(data, ts_recv)`` gives exactly
    what the reference gives (events, DecodeError, state), running the reference itself for
    any frame it does not handle.

    ``frame_of(data)`` is the reference's bytes -> decoded frame (DecodeError bad_json);
    ``engine`` is the reference MappedEngine whose state this shares.
    """

    cdef object engine, frame_of, stats
    cdef _Slots slots
    cdef Tape tape
    cdef list routes
    cdef object default_name, default_handler
    cdef dict handlers
    cdef CPath each
    cdef readonly dict compiled
    #: Frames handed to the reference code (unusual JSON, unsynced books, errors...).
    cdef readonly long long fallbacks

    def __init__(self, engine, frame_of):
        cdef _Route route
        self.engine = engine
        self.frame_of = frame_of
        self.stats = engine.ctx.stats
        self.slots = _Slots(engine.ctx.stats, engine.ctx.sequencer)
        self.tape = Tape()
        mapping = engine.mapping
        self.routes = []
        for rule in mapping.routing.rules:
            route = _Route()
            route.path = CPath(rule.path)
            route.split = rule.split.encode("utf-8")
            route.part = rule.part
            route.keys = [key.encode("utf-8") for key in rule.values]
            route.k8s = <uint64_t*>malloc((len(route.keys) + 1) * sizeof(uint64_t))
            if route.k8s == NULL:
                raise MemoryError()
            for k, key in enumerate(route.keys):
                route.k8s[k] = _k8(PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))
            route.targets = list(rule.values.values())
            self.routes.append(route)
        self.default_name = mapping.routing.default
        self.each = CPath(mapping.routing.each) if mapping.routing.each else None
        # name -> None (ignore), a compiled handler, or absent (the reference handles it).
        self.handlers = {}
        self.compiled = {}
        ctx = engine.ctx
        for name, handler in engine._handlers.items():
            if handler is None:
                self.handlers[name] = None
                continue
            try:
                if type(handler) is QuoteHandler:
                    compiled = _Quote(ctx, mapping.messages[name])
                elif type(handler) is TradeHandler:
                    compiled = _Trade(ctx, mapping.messages[name])
                elif type(handler) is BookHandler:
                    compiled = _Book(ctx, mapping.messages[name], handler)
                else:
                    raise _Unsupported(f"{type(handler).__name__} is not compiled")
            except _Unsupported as why:
                self.compiled[name] = str(why)
                continue
            self.handlers[name] = compiled
            self.compiled[name] = ""
        for route in self.routes:
            route.handlers = [self._target(name) for name in route.targets]
        self.default_handler = self._target(self.default_name)

    cdef object _target(self, name):
        # None: an ignored message; a compiled handler; _NOTSET: the reference runs it (a
        # message kind not compiled here, or "error").
        return self.handlers.get(name, _NOTSET)

    cdef object _route(self, Tape t, int frame):
        """compile.Router on the tape (compares the value's source text, which is map_key);
        returns what the routed message runs (see ``_target``)."""
        cdef _Route route
        cdef int found, k, index, start, end
        cdef Py_ssize_t slen, klen
        cdef const unsigned char* s = t.s
        cdef const char* sep
        cdef bytes key
        cdef uint64_t k8
        for route in self.routes:
            found = route.path.resolve(t, frame)
            if found < 0:
                continue
            if not _scalar(t, found):
                raise _Bail()  # map_key of a container is its repr: the reference decides
            start = t.nodes[found].start
            end = t.nodes[found].end
            slen = PyBytes_GET_SIZE(route.split)
            if slen:
                # str.split(sep)[part] on the bytes (ASCII text: the same cut points).
                sep = PyBytes_AS_STRING(route.split)
                index = route.part
                if index < 0:
                    index += _count_parts(s, start, end, sep, slen)
                if index < 0 or not _part(s, &start, &end, sep, slen, index):
                    continue
            klen = end - start
            k8 = _tape_k8(t, start, <int>klen)
            for k in range(len(route.keys)):
                key = route.keys[k]
                if (route.k8s[k] == k8 and PyBytes_GET_SIZE(key) == klen
                        and (klen <= 8 or memcmp(PyBytes_AS_STRING(key), s + start, klen) == 0)):
                    return route.handlers[k]
        return self.default_handler

    cdef int _one(self, Tape t, int frame, object ts_recv, list out) except -1:
        """engine._one; bails (before any change) unless the message is ignored or compiled."""
        cdef _Handler handler
        cdef _Slots slots
        cdef Py_ssize_t before
        found = self._route(t, frame)
        if found is _NOTSET:
            raise _Bail()
        stats = self.stats
        slots = self.slots
        if found is None:
            _slot_set(stats, slots.messages, "messages", _slot_get(stats, slots.messages, "messages") + 1)
            _slot_set(stats, slots.ignored, "ignored", _slot_get(stats, slots.ignored, "ignored") + 1)
            return 0
        handler = <_Handler>found
        before = len(out)
        handler.run(t, frame, ts_recv, out)
        _slot_set(stats, slots.messages, "messages", _slot_get(stats, slots.messages, "messages") + 1)
        _slot_set(
            stats, slots.events, "events", _slot_get(stats, slots.events, "events") + (len(out) - before)
        )
        return 0

    def decode(self, data, ts_recv):
        """Events of one frame, exactly as ``MappedJsonDecoder.decode`` gives them."""
        cdef Tape t = self.tape
        cdef list out
        cdef list items
        cdef int each, k
        if type(data) is not bytes or not t.parse(data):
            self.fallbacks += 1
            return self.engine.process(self.frame_of(data), ts_recv)
        out = []
        if self.each is not None:
            each = self.each.resolve(t, 0)
            if each >= 0 and (self.each.ends_slice or t.nodes[each].kind == K_ARR):
                items = _elements(t, each, self.each.slice_ if self.each.ends_slice else None)
                for k in range(len(items)):
                    try:
                        self._one(t, items[k], ts_recv, out)
                    except _Bail:
                        self.fallbacks += 1
                        # Items before k are done (as in the reference's loop); the reference
                        # takes the rest.
                        frame = self.frame_of(data)
                        for item in self.engine._each(frame)[k:]:
                            out.extend(self.engine._one(item, ts_recv))
                        return out
                return out
        try:
            self._one(t, 0, ts_recv, out)
        except _Bail:
            self.fallbacks += 1
            return self.engine.process(self.frame_of(data), ts_recv)
        return out


def fast_path(engine, frame_of):
    """The compiled decode for ``engine``'s mapping, or None when its routing uses a construct
    this twin leaves to the reference (message kinds it does not compile fall back per frame)."""
    try:
        return FastPath(engine, frame_of)
    except _Unsupported:
        return None


def fast_events():
    """Whether events are built by slot writes (checked at import) rather than by keywords."""
    return _DELTAS.ok and _QUOTES.ok
