"""Compiled twin of :mod:`pipelines.core.book` (docs/decisions/0112, 0115).

Same public API and the same results as the reference; the difference is storage. Each side keeps
two C arrays of int64: the keys (``sign * price``, ascending, so the best level is the last one,
as in the reference) and the sizes at the same index. A size change is a binary search and a
store; an insert or a delete moves only the levels behind it (near the top for most venue
updates). Prices and sizes are boxed only at the API boundary (``best_bid``, ``top``, ...): the
mypyc spike showed that re-boxing them at every dict/list call is what made a compiled book slower
than CPython's (docs/spikes/mypyc-hot-path.md).

``keys`` and ``levels`` -- attributes of the reference (a list and a dict) that rules and
calculators read -- are live read-only views here (:class:`KeysView`, :class:`LevelsView`):
indexing, slicing, ``len``, truth, iteration, ``in``, ``get``, ``items`` and equality with a
list / dict work as on the reference's containers; mutating them does not.

Prices and sizes must fit a signed 64-bit integer (the range msgpack, the wire and log encoding,
carries); beyond it both raise the same OverflowError (book.py, ``_out_of_range``).
"""

from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact, PyLong_FromLongLong
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport INT64_MIN, int64_t
from libc.stdlib cimport free, qsort, realloc
from libc.string cimport memmove

cimport cython

from pipelines.core.fields cimport read, slot_offset

from pipelines.events import BookDelta, BookSnapshot

__all__ = ["Book", "BookSideLevels", "KeysView", "LevelsView"]

# 2 * 10**d for the decimals whose value a double holds exactly: mid() divides by it in C only
# then, so the result is the correctly rounded quotient, like the reference's int / int.
cdef double _TWICE_POW10[23]
for _d in range(23):
    _TWICE_POW10[_d] = 2.0 * (10.0 ** _d)
cdef int64_t _EXACT = 1 << 53
# BookDelta's fields, read at their slot offsets when the type is exactly BookDelta (checked
# against this interpreter at import: pipelines.core.fields; -1 reads them with getattr).
cdef object _BookDelta = BookDelta
cdef object _SAMPLE = BookDelta(
    stream="s", symbol="x", seq=1, ts_recv=1, side="bid", price=1, size=1, action="new"
)
cdef Py_ssize_t _SIDE = slot_offset(BookDelta, "side", _SAMPLE)
cdef Py_ssize_t _PRICE = slot_offset(BookDelta, "price", _SAMPLE)
cdef Py_ssize_t _SIZE = slot_offset(BookDelta, "size", _SAMPLE)
cdef Py_ssize_t _ACTION = slot_offset(BookDelta, "action", _SAMPLE)
_LIMIT = 2**63 - 1  # |price| and |size| a book keeps (the int64 range, less INT64_MIN)


cdef inline tuple _pair(int64_t price, int64_t size):
    cdef tuple pair = PyTuple_New(2)
    cdef object p = PyLong_FromLongLong(price)
    cdef object s = PyLong_FromLongLong(size)
    Py_INCREF(p)
    Py_INCREF(s)
    PyTuple_SET_ITEM(pair, 0, p)
    PyTuple_SET_ITEM(pair, 1, s)
    return pair


cdef struct _Entry:
    int64_t key
    int64_t size
    Py_ssize_t order  # position in the snapshot: equal keys keep the last one, like a dict


cdef int _by_key_then_order(const void* a, const void* b) noexcept nogil:
    cdef const _Entry* x = <const _Entry*>a
    cdef const _Entry* y = <const _Entry*>b
    if x.key != y.key:
        return -1 if x.key < y.key else 1
    return -1 if x.order < y.order else (1 if x.order > y.order else 0)


cdef bint _ascending(_Entry* entries, Py_ssize_t count) noexcept:
    """Strictly ascending keys: already in the order a sort would give."""
    cdef Py_ssize_t i
    for i in range(1, count):
        if entries[i].key <= entries[i - 1].key:
            return False
    return True


cdef bint _descending(_Entry* entries, Py_ssize_t count) noexcept:
    """Strictly descending keys (no duplicates): reversing gives what a sort would."""
    cdef Py_ssize_t i
    for i in range(1, count):
        if entries[i].key >= entries[i - 1].key:
            return False
    return True


cdef void _reverse(_Entry* entries, Py_ssize_t count) noexcept:
    cdef Py_ssize_t i = 0, j = count - 1
    cdef _Entry swap
    while i < j:
        swap = entries[i]
        entries[i] = entries[j]
        entries[j] = swap
        i += 1
        j -= 1


cdef int64_t _int64(object value, str what) except? -1:
    """``value`` as an int64, which every price and size must fit (the wire's range); the
    reference raises the same OverflowError (book.py, ``_out_of_range``). INT64_MIN is out too:
    an ask's key is the negated price."""
    cdef int overflow = 0
    cdef long long result
    if PyLong_CheckExact(value):
        result = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and result != INT64_MIN:
            return result
        raise OverflowError(f"{what} {value} is out of the int64 range")
    if not -_LIMIT <= value <= _LIMIT:
        raise OverflowError(f"{what} {value} is out of the int64 range")
    return value  # another int-like type (bool, an int subclass): the generic conversion


cdef Py_ssize_t _index(BookSideLevels side, price) except -2:
    """The index of ``price``'s level, -1 when there is none (a dict lookup's answer)."""
    cdef int64_t key
    cdef int overflow = 0
    if PyLong_CheckExact(price):
        key = PyLong_AsLongLongAndOverflow(price, &overflow)
        if overflow or key == INT64_MIN:
            return -1  # no level can be there
    elif isinstance(price, int) and -_LIMIT <= price <= _LIMIT:
        key = price
    else:
        return -1
    key *= side.sign
    cdef Py_ssize_t index = side._find(key)
    if index < side.n and side._keys[index] == key:
        return index
    return -1


@cython.final
cdef class BookSideLevels:
    """One side of a book. ``sign`` is +1 for bids and -1 for asks (the key of a price)."""

    def __cinit__(self, int sign):
        self.sign = sign
        self._keys = NULL
        self._sizes = NULL
        self.n = 0
        self.cap = 0

    def __dealloc__(self):
        free(self._keys)
        free(self._sizes)

    cdef int _reserve(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap
        if need <= cap:
            return 0
        cap = cap * 2 if cap else 16
        while cap < need:
            cap *= 2
        keys = <int64_t*>realloc(self._keys, cap * sizeof(int64_t))
        if keys == NULL:
            raise MemoryError()
        self._keys = keys
        sizes = <int64_t*>realloc(self._sizes, cap * sizeof(int64_t))
        if sizes == NULL:
            raise MemoryError()
        self._sizes = sizes
        self.cap = cap
        return 0

    cdef Py_ssize_t _find(self, int64_t key) noexcept:
        """The first index whose key is >= ``key`` (``n`` when none is)."""
        cdef Py_ssize_t n = self.n
        cdef int64_t* keys = self._keys
        if n == 0 or key > keys[n - 1]:
            return n
        if key == keys[n - 1]:  # the top level: the commonest update
            return n - 1
        cdef Py_ssize_t lo = 0, hi = n - 1, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int _set_key(self, int64_t key, int64_t size) except -1:
        cdef Py_ssize_t index = self._find(key)
        cdef Py_ssize_t n = self.n
        cdef bint found = index < n and self._keys[index] == key
        if size:
            if found:
                self._sizes[index] = size
                return 0
            self._reserve(n + 1)
            if index < n:
                memmove(&self._keys[index + 1], &self._keys[index], (n - index) * sizeof(int64_t))
                memmove(&self._sizes[index + 1], &self._sizes[index], (n - index) * sizeof(int64_t))
            self._keys[index] = key
            self._sizes[index] = size
            self.n = n + 1
        elif found:
            self._remove(index)
        return 0

    cdef void _remove(self, Py_ssize_t index) noexcept:
        cdef Py_ssize_t behind = self.n - index - 1
        if behind > 0:
            memmove(&self._keys[index], &self._keys[index + 1], behind * sizeof(int64_t))
            memmove(&self._sizes[index], &self._sizes[index + 1], behind * sizeof(int64_t))
        self.n -= 1

    cdef int64_t _key(self, object price) except? -1:
        return self.sign * _int64(price, "price")

    def set(self, price, size):
        """Set a level's size; size 0 deletes it (a delete of an absent level is ignored)."""
        cdef Py_ssize_t index
        cdef int64_t amount
        if size:
            amount = _int64(size, "size")  # checked before the price, as the reference does
            self._set_key(self._key(price), amount)
            return
        index = _index(self, price)
        if index >= 0:
            self._remove(index)

    def get(self, price):
        """The size at ``price`` (0 when there is no level)."""
        cdef Py_ssize_t index = _index(self, price)
        return 0 if index < 0 else PyLong_FromLongLong(self._sizes[index])

    def best(self):
        if not self.n:
            return None
        return _pair(self.sign * self._keys[self.n - 1], self._sizes[self.n - 1])

    def best_price(self):
        return PyLong_FromLongLong(self.sign * self._keys[self.n - 1]) if self.n else None

    cdef list _top(self, Py_ssize_t depth):
        cdef Py_ssize_t count = depth if depth < self.n else self.n
        cdef list out = PyList_New(count)
        cdef Py_ssize_t i, index = self.n - 1
        cdef int64_t sign = self.sign
        cdef tuple pair
        for i in range(count):
            pair = _pair(sign * self._keys[index - i], self._sizes[index - i])
            Py_INCREF(pair)
            PyList_SET_ITEM(out, i, pair)
        return out

    def top(self, depth):
        """The best ``depth`` levels, best first."""
        if depth <= 0:
            return []
        return self._top(depth if depth < self.n else self.n)

    def load(self, levels):
        """Replace every level (a snapshot); entries of size 0 are skipped."""
        entries = levels if type(levels) is list else list(levels)
        try:
            self._load(entries)
        except OverflowError:
            # Which value the error names depends on the reference's order of checks, and a value
            # out of range may be overwritten by a later entry for the same price: the reference
            # decides (the side is unchanged if it raises), then its surviving levels load here.
            from pipelines.core.book import PyBookSideLevels

            PyBookSideLevels(self.sign).load(entries)
            self._load(list({price: size for price, size in entries if size}.items()))

    cdef _load(self, list levels):
        cdef _Entry* buffer = NULL
        cdef _Entry* grown
        cdef Py_ssize_t count = 0, cap = 0, i, kept = 0
        cdef int64_t key, s
        cdef object price, size
        try:
            for item in levels:
                if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
                    # A snapshot's (price, size) pairs: read in place, no unpacking iterator.
                    price = <object>PyTuple_GET_ITEM(item, 0)
                    size = <object>PyTuple_GET_ITEM(item, 1)
                else:
                    price, size = item
                if not size:
                    continue
                s = _int64(size, "size")
                key = self._key(price)
                if count == cap:
                    cap = cap * 2 if cap else max(len(levels), 16)
                    grown = <_Entry*>realloc(buffer, cap * sizeof(_Entry))
                    if grown == NULL:
                        raise MemoryError()
                    buffer = grown
                buffer[count].key = key
                buffer[count].size = s
                buffer[count].order = count
                count += 1
            # A snapshot lists each side best first, which is descending key order on both sides
            # (bids by price, asks by -price): reversed in place then, sorted only otherwise.
            if count > 1 and _descending(buffer, count):
                _reverse(buffer, count)
            elif count > 1 and not _ascending(buffer, count):
                qsort(buffer, count, sizeof(_Entry), _by_key_then_order)
            self._reserve(count)
            for i in range(count):
                if i + 1 < count and buffer[i + 1].key == buffer[i].key:
                    continue  # a later entry for the same price wins
                self._keys[kept] = buffer[i].key
                self._sizes[kept] = buffer[i].size
                kept += 1
            self.n = kept
        finally:
            free(buffer)

    def __len__(self):
        return self.n

    def clear(self):
        self.n = 0

    @property
    def keys(self):
        """``sign * price`` of every level, ascending (a live view; the best is ``keys[-1]``)."""
        return KeysView(self)

    @property
    def levels(self):
        """``price -> size`` of every level (a live read-only view)."""
        return LevelsView(self)

    def __repr__(self):
        return f"BookSideLevels(sign={self.sign}, levels={self.n})"


@cython.final
cdef class KeysView:
    """The reference's ``keys`` list, read-only and live: ``sign * price`` ascending."""

    cdef BookSideLevels side

    def __cinit__(self, BookSideLevels side):
        self.side = side

    def __len__(self):
        return self.side.n

    def __getitem__(self, index):
        cdef Py_ssize_t i, n = self.side.n
        if isinstance(index, slice):
            return [PyLong_FromLongLong(self.side._keys[i]) for i in range(*index.indices(n))]
        i = index
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError("list index out of range")
        return PyLong_FromLongLong(self.side._keys[i])

    def __iter__(self):
        return iter(self[:])

    def __reversed__(self):
        return iter(self[::-1])

    def __contains__(self, key):
        return key in self[:]

    def __eq__(self, other):
        if isinstance(other, KeysView):
            other = other[:]
        return self[:] == other

    def __repr__(self):
        return repr(self[:])


@cython.final
cdef class LevelsView:
    """The reference's ``levels`` dict, read-only and live (iterates in key order)."""

    cdef BookSideLevels side

    def __cinit__(self, BookSideLevels side):
        self.side = side

    def __len__(self):
        return self.side.n

    cdef Py_ssize_t _index(self, price) except -2:
        return _index(self.side, price)

    def __getitem__(self, price):
        cdef Py_ssize_t index = self._index(price)
        if index < 0:
            raise KeyError(price)
        return PyLong_FromLongLong(self.side._sizes[index])

    def get(self, price, default=None):
        cdef Py_ssize_t index = self._index(price)
        return default if index < 0 else PyLong_FromLongLong(self.side._sizes[index])

    def __contains__(self, price):
        return self._index(price) >= 0

    def keys(self):
        cdef BookSideLevels side = self.side
        return [PyLong_FromLongLong(side.sign * side._keys[i]) for i in range(side.n)]

    def values(self):
        cdef BookSideLevels side = self.side
        return [PyLong_FromLongLong(side._sizes[i]) for i in range(side.n)]

    def items(self):
        cdef BookSideLevels side = self.side
        return [_pair(side.sign * side._keys[i], side._sizes[i]) for i in range(side.n)]

    def __iter__(self):
        return iter(self.keys())

    def __eq__(self, other):
        if isinstance(other, LevelsView):
            other = dict(other.items())
        return dict(self.items()) == other

    def __repr__(self):
        return repr(dict(self.items()))


@cython.final
cdef class Book:
    """Price levels of one (stream, symbol); deltas are applied as the venue sends them."""

    def __init__(self, stream="", symbol="", price_decimals=0, size_decimals=0):
        self.stream = stream
        self.symbol = symbol
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.bids = BookSideLevels(1)
        self.asks = BookSideLevels(-1)

    def side(self, side):
        return self.bids if side == "bid" else self.asks

    cpdef apply(self, delta):
        """Apply one level entry: ``delete`` (or size 0) removes the level, else sets its size."""
        cdef BookSideLevels levels
        cdef object price, size, action
        cdef Py_ssize_t index
        if type(delta) is _BookDelta:
            levels = self.bids if read(delta, _SIDE, "side") == "bid" else self.asks
            price = read(delta, _PRICE, "price")
            size = read(delta, _SIZE, "size")
            action = read(delta, _ACTION, "action") if size else None
        else:
            levels = self.bids if delta.side == "bid" else self.asks
            price = delta.price
            size = delta.size
            action = delta.action if size else None
        cdef int64_t amount
        if size and action != "delete":
            amount = _int64(size, "size")  # checked before the price, as the reference does
            levels._set_key(levels._key(price), amount)
            return
        # A delete never raises: a price out of range simply has no level (like the reference).
        index = _index(levels, price)
        if index >= 0:
            levels._remove(index)

    def apply_batch(self, deltas):
        """Apply the entries of one venue message, in order."""
        for delta in deltas:
            self.apply(delta)

    def load(self, bids, asks):
        """Replace the whole book by these levels (any order; size 0 entries are skipped)."""
        self.bids.load(bids)
        self.asks.load(asks)

    def apply_snapshot(self, snapshot):
        """Replace the book by a snapshot, taking its scale."""
        self.price_decimals = snapshot.price_decimals
        self.size_decimals = snapshot.size_decimals
        self.load(snapshot.bids, snapshot.asks)

    def best_bid(self):
        cdef BookSideLevels side = self.bids
        if not side.n:
            return None
        return _pair(side._keys[side.n - 1], side._sizes[side.n - 1])

    def best_ask(self):
        cdef BookSideLevels side = self.asks
        if not side.n:
            return None
        return _pair(-side._keys[side.n - 1], side._sizes[side.n - 1])

    def best_bid_price(self):
        cdef BookSideLevels side = self.bids
        return PyLong_FromLongLong(side._keys[side.n - 1]) if side.n else None

    def best_ask_price(self):
        cdef BookSideLevels side = self.asks
        return PyLong_FromLongLong(-side._keys[side.n - 1]) if side.n else None

    def spread(self):
        """Best ask minus best bid (integer, book scale); None unless both sides exist."""
        cdef BookSideLevels bids = self.bids, asks = self.asks
        if not bids.n or not asks.n:
            return None
        # In Python ints: the difference of two int64 prices may not fit one.
        return -PyLong_FromLongLong(asks._keys[asks.n - 1]) - PyLong_FromLongLong(
            bids._keys[bids.n - 1]
        )

    cdef bint _crossed(self) noexcept:
        cdef BookSideLevels bids = self.bids, asks = self.asks
        # An ask key is -price of a price other than INT64_MIN: negating it back cannot overflow.
        return bids.n and asks.n and bids._keys[bids.n - 1] > -asks._keys[asks.n - 1]

    cdef bint _best_prices(self, int64_t* bid, int64_t* ask) noexcept:
        cdef BookSideLevels bids = self.bids, asks = self.asks
        if not bids.n or not asks.n:
            return False
        bid[0] = bids._keys[bids.n - 1]
        ask[0] = -asks._keys[asks.n - 1]
        return True

    cpdef bint crossed(self) except -1:
        """True when the best bid is above the best ask."""
        return self._crossed()

    cpdef bint two_sided(self) except -1:
        """True when both sides have a level (the ``top_*`` readers' precondition)."""
        return self.bids.n > 0 and self.asks.n > 0

    cpdef int64_t top_bid_price(self) except? -1:
        """The best bid's price (IndexError on an empty side)."""
        cdef BookSideLevels side = self.bids
        if not side.n:
            raise IndexError("no bid")
        return side._keys[side.n - 1]

    cpdef int64_t top_ask_price(self) except? -1:
        """The best ask's price (IndexError on an empty side)."""
        cdef BookSideLevels side = self.asks
        if not side.n:
            raise IndexError("no ask")
        return -side._keys[side.n - 1]

    cpdef int64_t top_bid_size(self) except? -1:
        """The best bid's size (IndexError on an empty side)."""
        cdef BookSideLevels side = self.bids
        if not side.n:
            raise IndexError("no bid")
        return side._sizes[side.n - 1]

    cpdef int64_t top_ask_size(self) except? -1:
        """The best ask's size (IndexError on an empty side)."""
        cdef BookSideLevels side = self.asks
        if not side.n:
            raise IndexError("no ask")
        return side._sizes[side.n - 1]

    def locked(self):
        """True when the best bid equals the best ask."""
        cdef BookSideLevels bids = self.bids, asks = self.asks
        return bool(bids.n and asks.n and bids._keys[bids.n - 1] == -asks._keys[asks.n - 1])

    cdef object _mid(self):
        cdef BookSideLevels bids = self.bids, asks = self.asks
        if not bids.n or not asks.n:
            return None
        cdef int64_t bid = bids._keys[bids.n - 1], ask_key = asks._keys[asks.n - 1]
        cdef object decimals = self.price_decimals
        cdef int64_t total
        if (
            type(decimals) is int
            and 0 <= decimals <= 22
            and -_EXACT < bid < _EXACT
            and -_EXACT < ask_key < _EXACT
        ):
            total = bid - ask_key
            if -_EXACT <= total <= _EXACT:
                return total / _TWICE_POW10[<int>decimals]
        # Outside what a double holds exactly: the reference's own expression.
        return float(
            (PyLong_FromLongLong(bid) - PyLong_FromLongLong(ask_key)) / (2 * 10**decimals)
        )

    cpdef object mid(self):
        """The mid price in instrument units (not scaled); None unless both sides exist."""
        return self._mid()

    def top(self, depth):
        return self.bids.top(depth), self.asks.top(depth)

    def snapshot(self, depth=10, seq=0, state="", ts_recv=0):
        bids, asks = self.top(depth)
        return BookSnapshot(
            stream=self.stream,
            symbol=self.symbol,
            seq=seq,
            ts_recv=ts_recv,
            bids=bids,
            asks=asks,
            price_decimals=self.price_decimals,
            size_decimals=self.size_decimals,
            state=state,
        )

    def __len__(self):
        """Levels on both sides."""
        return self.bids.n + self.asks.n

    def clear(self):
        self.bids.n = 0
        self.asks.n = 0

    def __repr__(self):
        return f"Book({self.stream!r}, {self.symbol!r}, levels={self.bids.n + self.asks.n})"
