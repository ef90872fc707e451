# cython: language_level=3
"""The events the compiled mapped decoder builds (``_cjson_decoder``, decision 0116).

BookDelta, Quote and Trade are allocated the way msgspec's own ``__copy__`` does and every field slot
written, instead of matching a dozen keyword names; this is on only where an event built so was
checked equal to the constructor's (by value, repr and msgpack) at import.
"""

cimport cython
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.string cimport memset

import msgspec

from pipelines.events import BookDelta, Quote, Trade

from ._cjson_state cimport member_offset


cdef extern from "Python.h":
    ctypedef struct PyTypeObject:
        Py_ssize_t tp_basicsize
        Py_ssize_t tp_itemsize
        unsigned long tp_flags
    unsigned long Py_TPFLAGS_HAVE_GC
    PyObject* _PyObject_GC_New(PyTypeObject*)


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
            self.offsets[k] = member_offset(cls, name)
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

    cdef inline object header(self, str stream, str symbol, seq, venue_seq, ts, ts_recv,
                              priority):
        # A blank event with the fields every event type starts with (slots 0 to 6).
        event = self.blank()
        self.put(event, 0, stream)
        self.put(event, 1, symbol)
        self.put(event, 2, seq)
        self.put(event, 3, venue_seq)
        self.put(event, 4, ts)
        self.put(event, 5, ts_recv)
        self.put(event, 6, priority)
        return event


cdef _Maker _DELTAS = _Maker(
    BookDelta,
    ("stream", "symbol", "seq", "venue_seq", "ts_exchange", "ts_recv", "priority", "side",
     "price", "size", "action", "level", "implied", "batch_end", "price_decimals",
     "size_decimals"),
)
_PRIORITY = BookDelta(stream="", symbol="", side="bid", price=0, size=0, action="new").priority
_QUOTE_PRIORITY = Quote(stream="", symbol="", bid_price=0, bid_size=0, ask_price=0, ask_size=0).priority


cdef object delta(str stream, str symbol, seq, venue_seq, ts, ts_recv, str side, price, size,
                  str action, level, bint batch_end, pd, sd):
    cdef _Maker m = _DELTAS
    if not m.ok:
        return BookDelta(
            stream=stream, symbol=symbol, seq=seq, venue_seq=venue_seq, ts_exchange=ts,
            ts_recv=ts_recv, side=side, price=price, size=size, action=action, level=level,
            batch_end=batch_end, price_decimals=pd, size_decimals=sd,
        )
    event = m.header(stream, symbol, seq, venue_seq, ts, ts_recv, _PRIORITY)
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


cdef object quote(str stream, str symbol, seq, venue_seq, ts, ts_recv, bid, bid_size, ask,
                  ask_size, pd, sd):
    cdef _Maker m = _QUOTES
    if not m.ok:
        return Quote(
            stream=stream, symbol=symbol, seq=seq, venue_seq=venue_seq, ts_exchange=ts,
            ts_recv=ts_recv, bid_price=bid, bid_size=bid_size, ask_price=ask, ask_size=ask_size,
            price_decimals=pd, size_decimals=sd,
        )
    event = m.header(stream, symbol, seq, venue_seq, ts, ts_recv, _QUOTE_PRIORITY)
    m.put(event, 7, bid)
    m.put(event, 8, bid_size)
    m.put(event, 9, ask)
    m.put(event, 10, ask_size)
    m.put(event, 11, pd)
    m.put(event, 12, sd)
    return event


cdef _Maker _TRADES = _Maker(
    Trade,
    ("stream", "symbol", "seq", "venue_seq", "ts_exchange", "ts_recv", "priority", "price",
     "size", "price_decimals", "size_decimals", "side", "trade_id"),
)
_TRADE_PRIORITY = Trade(stream="", symbol="", price=0, size=0).priority


cdef object trade(str stream, str symbol, seq, venue_seq, ts, ts_recv, price, size, pd, sd,
                  str side, str trade_id):
    cdef _Maker m = _TRADES
    if not m.ok:
        return Trade(
            stream=stream, symbol=symbol, seq=seq, venue_seq=venue_seq, ts_exchange=ts,
            ts_recv=ts_recv, price=price, size=size, price_decimals=pd, size_decimals=sd,
            side=side, trade_id=trade_id,
        )
    event = m.header(stream, symbol, seq, venue_seq, ts, ts_recv, _TRADE_PRIORITY)
    m.put(event, 7, price)
    m.put(event, 8, size)
    m.put(event, 9, pd)
    m.put(event, 10, sd)
    m.put(event, 11, side)
    m.put(event, 12, trade_id)
    return event


def _check_makers():
    # The fast builders must give exactly what the constructor gives (values and types).
    samples = [
        (_DELTAS, BookDelta(stream="s", symbol="X", seq=7, venue_seq=8, ts_exchange=9,
                            ts_recv=10, side="ask", price=11, size=12, action="change",
                            level=3, batch_end=False, price_decimals=2, size_decimals=1),
         delta("s", "X", 7, 8, 9, 10, "ask", 11, 12, "change", 3, False, 2, 1)),
        (_QUOTES, Quote(stream="s", symbol="X", seq=7, venue_seq=8, ts_exchange=9, ts_recv=10,
                        bid_price=11, bid_size=12, ask_price=13, ask_size=14, price_decimals=2,
                        size_decimals=1),
         quote("s", "X", 7, 8, 9, 10, 11, 12, 13, 14, 2, 1)),
        (_TRADES, Trade(stream="s", symbol="X", seq=7, venue_seq=8, ts_exchange=9, ts_recv=10,
                        price=11, size=12, price_decimals=2, size_decimals=1, side="sell",
                        trade_id="t1"),
         trade("s", "X", 7, 8, 9, 10, 11, 12, 2, 1, "sell", "t1")),
    ]
    for maker, want, got in samples:
        if (want != got or repr(want) != repr(got)
                or msgspec.msgpack.encode(want) != msgspec.msgpack.encode(got)):
            (<_Maker>maker).ok = False


_check_makers()


cdef bint by_slot_writes() noexcept:
    """Whether events are built by slot writes (checked at import) rather than by keywords."""
    return _DELTAS.ok and _QUOTES.ok and _TRADES.ok
