# cython: language_level=3
"""Book checksums in C for the compiled mapped decoder (``_cjson_decoder``, decision 0116).

``checksum.compile_checksum`` over the shared book view: the top ``depth`` levels of each side,
formatted as checksum.py formats them (both formats, every order, ``signed``), joined by the
separator, CRC-32 (checked against ``zlib.crc32`` at import). The reference's function runs
for what this does not take: a value past int64, decimals past 18, a non-ASCII separator.
"""

cimport cython
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLongLong
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import zlib


cdef extern from "Python.h":
    const char* PyBytes_AS_STRING(object)
    Py_ssize_t PyBytes_GET_SIZE(object)


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



cdef Checksum compile_checksum(spec):
    """The C checksum of a mapping's checksum spec, or None where the reference function runs
    for every message (a non-ASCII separator, or a CRC-32 here that differs from zlib's)."""
    if not _CRC_OK or not spec.separator.isascii():
        return None
    return Checksum(spec)


@cython.final
cdef class Checksum:
    """The checksum of one book message kind. ``compute`` returns None where the reference
    function must run (a value past int64, decimals it does not format)."""

    def __init__(self, spec):
        self.separator = spec.separator.encode("ascii")
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

    cdef Py_ssize_t _level(self, Py_ssize_t at, Sym sym, int side, Py_ssize_t k, int pd,
                           int sd) except -2:
        """Appends level k (0 = best) of a side (0 bid, 1 ask) at ``at``: the separator unless
        it is the first, then "<price><sep><size>". Returns the new end, -1 when a value is not
        an int64."""
        cdef const char* sep = PyBytes_AS_STRING(self.separator)
        cdef Py_ssize_t slen = PyBytes_GET_SIZE(self.separator)
        cdef list keys = sym.bid_keys if side == 0 else sym.ask_keys
        cdef Py_ssize_t count = len(keys)
        cdef int64_t p, q
        key = keys[count - 1 - k]
        price = key if side == 0 else -key
        size = (sym.bid_levels if side == 0 else sym.ask_levels)[price]
        if type(price) is not int or type(size) is not int:
            return -1
        try:
            p = PyLong_AsLongLong(price)
            q = PyLong_AsLongLong(size)
        except OverflowError:
            return -1
        if at:
            memcpy(self.buffer + at, sep, slen)
            at += slen
        at += _put_int(self.buffer + at, p, pd, self.digits)
        memcpy(self.buffer + at, sep, slen)
        at += slen
        at += _put_int(self.buffer + at, q, sd, self.digits)
        return at

    cdef object compute(self, Sym sym, object pd_value, object sd_value):
        cdef Py_ssize_t at = 0, k, asks, bids
        cdef int pd, sd, side, first
        cdef uint32_t crc
        cdef int64_t result
        if (type(pd_value) is not int or type(sd_value) is not int
                or not (0 <= pd_value <= 18 and 0 <= sd_value <= 18)):
            return None  # format_scaled's other branches: the reference formats them
        pd = pd_value
        sd = sd_value
        asks = min(self.depth, len(sym.ask_keys))
        bids = min(self.depth, len(sym.bid_keys))
        if self.order == 2:
            # interleaved: bid 0, ask 0, bid 1, ask 1, ...
            for k in range(max(asks, bids)):
                for side in range(2):
                    if k < (bids if side == 0 else asks):
                        at = self._level(at, sym, side, k, pd, sd)
                        if at < 0:
                            return None
        else:
            first = 1 if self.order == 0 else 0  # 1: asks first
            for side in (first, 1 - first):
                for k in range(asks if side == 1 else bids):
                    at = self._level(at, sym, side, k, pd, sd)
                    if at < 0:
                        return None
        crc = _crc32(<const unsigned char*>self.buffer, at)
        result = crc
        if self.signed and crc >= 0x80000000:
            result -= 0x100000000
        return PyLong_FromLongLong(result)
