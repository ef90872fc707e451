# cython: language_level=3
"""Numbers on the tape for the compiled mapped decoder (``_cjson_decoder``, decision 0116).

``numbers.scale``, ``numbers.timestamp_ns`` and ``context.compile_int`` of a node, straight from
the frame's bytes for the plain spellings ([-]digits[.digits]) and through the reference
functions for the rest; where those raise, the frame goes to the reference (Bail). Also each
message's price and size decimals, and the memo of int objects that events reuse.
"""

cimport cython
from cpython.long cimport PyLong_AsLongAndOverflow, PyLong_AsLongLong, PyLong_FromLongLong
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from ._cjson_tape cimport K_FALSE, K_FLOAT, K_INT, K_NULL, K_STR, K_TRUE, LITTLE_ENDIAN, Node, Tape
from ._cjson_tape cimport decoded, text

from ingest.protocols.base import DecodeError

from ._cjson_tape import Bail
from .numbers import scale as _py_scale
from .numbers import timestamp_ns as _py_timestamp_ns
from .paths import MISSING

cdef int64_t _POW10[19]
cdef int64_t _TIME_LIMIT[10]  # the largest integer that times 10**k still fits an int64
_p = 1
for _i in range(19):
    _POW10[_i] = _p
    if _i < 10:
        _TIME_LIMIT[_i] = 9223372036854775807 // _p
    _p *= 10
_POW10_OBJ = tuple(10**i for i in range(40))
_INT64_MAX = 2**63 - 1


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
        while LITTLE_ENDIAN and j + 8 <= length and frac + 8 <= decimals and ndigits <= 10:
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


cdef object _call_scale(object found, int decimals, bint scaled):
    try:
        return _py_scale(found, decimals, scaled)
    except DecodeError:
        raise Bail() from None


cdef object time_ns(Tape t, int i, str unit, int decimals):
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
            raise Bail()  # beyond int64 ns: the reference raises out_of_range
        if kind == K_STR or kind == K_FLOAT:
            if _parse_decimal(t.s + node.start, node.end - node.start, decimals, True, &result):
                return PyLong_FromLongLong(result)
    return call_time(decoded(t, i), unit)


cdef object call_time(object found, str unit):
    if found is None:
        return 0
    try:
        return _py_timestamp_ns(found, unit)
    except DecodeError:
        raise Bail() from None


cdef object int_value(Tape t, int i):
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
        return int_object(text(t, i))
    raise Bail()


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


cdef object int_object(object found):
    # compile_int's conversion of a Python value; where it raises, the reference must run.
    if found is MISSING or found is None:
        return 0
    if type(found) is not int:
        try:
            found = int(found)
        except (TypeError, ValueError):
            raise Bail() from None
    if -_INT64_MAX <= found <= _INT64_MAX:
        return found
    raise Bail()  # beyond int64: the reference raises out_of_range


cdef int64_t scale64(Tape t, int i, int decimals, bint scaled) except? -1:
    """numbers.scale of a node as a C integer; bail where the reference raises (values beyond
    int64 among them: out_of_range)."""
    cdef Node* node = &t.nodes[i]
    cdef int64_t result
    cdef int kind = node.kind
    if kind == K_STR or kind == K_FLOAT:
        if _parse_decimal(t.s + node.start, node.end - node.start, decimals, False, &result):
            return result
        scaled_value = _call_scale(text(t, i), decimals, scaled)
    elif kind == K_INT:
        if scaled:
            return node.ival
        if decimals < 0 or decimals >= 40:
            raise Bail()  # the reference's POW10 lookup decides (IndexError -> bad_shape)
        scaled_value = PyLong_FromLongLong(node.ival) * _POW10_OBJ[decimals]
    else:
        raise Bail()
    try:
        return PyLong_AsLongLong(scaled_value)
    except OverflowError:
        raise Bail() from None


@cython.final
cdef class MessageScales:
    """One message's price and size decimals, folded here for every kind of message: its
    symbol's Scales list (``load``); a decimal still unknown is learnt from the message's values
    (``learn``) and stored in the list only at ``commit``, once nothing else can fail."""

    cdef int load(self, list decimals) except -1:
        """Takes the symbol's list; True when a decimal is still unknown (the caller then passes
        the message's own to ``learn``)."""
        self.decimals = decimals
        self.price = decimals[0]
        self.size = decimals[1]
        self.learn_price = self.price is None
        self.learn_size = self.size is None
        return self.learn_price or self.learn_size

    cdef void learn(self, int price, int size) noexcept:
        # The decimals of this message's values, for those still unknown.
        if self.learn_price:
            self.price = price
        if self.learn_size:
            self.size = size

    cdef int check(self) except -1:
        """Bails unless both are scales the C code takes: ints in 0..38 (a mapping may set any
        int; the reference decides what other values do). Compared as C longs: this runs on
        every message."""
        cdef int overflow = 0
        cdef long p, q
        if type(self.price) is not int or type(self.size) is not int:
            raise Bail()
        p = PyLong_AsLongAndOverflow(self.price, &overflow)
        if overflow == 0:
            q = PyLong_AsLongAndOverflow(self.size, &overflow)
        if overflow != 0 or p < 0 or p > 38 or q < 0 or q > 38:
            raise Bail()
        self.cprice = <int>p
        self.csize = <int>q
        return 0

    cdef int commit(self) except -1:
        if self.learn_price:
            self.decimals[0] = self.price
        if self.learn_size:
            self.decimals[1] = self.size
        return 0


@cython.final
cdef class Ints:
    """Recently made int objects by value (direct-mapped, 1,024 slots; ``int_of`` in the .pxd):
    the compiled form of the reference's ScaleCache, which memoizes decimal strings to int
    objects because feeds repeat the same prices and sizes constantly. Equal values, so events
    are unchanged; bounded."""

    def __dealloc__(self):
        for k in range(1024):
            Py_XDECREF(self.objects[k])
