"""Compiled twin of the hot path of :mod:`pipelines.runtime.pipeline` (docs/decisions/0112, 0115).

``process`` is ``Pipeline.process`` (with ``_book_message`` and ``_trade``) written against the
compiled BookKeeper, book and health: the same loop, the same calls in the same order, the same
events out, the same stage counts. What it saves is the interpreter around them: event fields and
``SymbolState`` slots are read at their offsets (``_cfields``), the keeper and book are C calls,
the stage meter is a C struct, and the clock is ``clock_gettime(CLOCK_MONOTONIC)``, which is what
``time.perf_counter`` reads on Linux. Calculators and rules are called through their documented
Python interfaces (``Calculator.feeds()`` methods, ``SymbolRules``), compiled or not.
"""

from cpython.object cimport Py_TYPE, PyObject, PyTypeObject

cdef extern from "Python.h":
    bint PyType_IsSubtype(PyTypeObject* a, PyTypeObject* b)
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdlib cimport calloc, free
from libc.time cimport timespec

cimport cython

from pipelines.core._cbook cimport Book
from pipelines.core._cbookkeeper cimport BookKeeper
from pipelines.core._cfields cimport TP_FIELD, TP_SET_FIELD, field, field_offset
from pipelines.core.calculators._ckernel cimport SeriesKernel
from cpython.method cimport PyMethod_Check, PyMethod_GET_FUNCTION, PyMethod_GET_SELF
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact

from bisect import bisect_left

from pipelines.events import (
    Alert,
    BookDelta,
    BookSnapshot,
    Instrument,
    Metric,
    Order,
    Status,
    Trade,
)
from pipelines.events import _EventBase
from pipelines.topics import event_topic

__all__ = ["StageMeter", "bind", "now", "process"]


cdef extern from "<time.h>" nogil:
    int clock_gettime(int clk_id, timespec* tp)
    int CLOCK_MONOTONIC


cdef inline double _now() noexcept:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


def now():
    """The clock ``process`` reads (``time.perf_counter``'s, in seconds)."""
    return _now()


# Event fields by offset: every event type derives from _EventBase, whose slots sit at the same
# offsets in every subclass (C layout inheritance).
cdef object _Base = _EventBase
cdef Py_ssize_t _STREAM = field_offset(_EventBase, "stream")
cdef Py_ssize_t _SYMBOL = field_offset(_EventBase, "symbol")
cdef Py_ssize_t _SEQ = field_offset(_EventBase, "seq")
cdef Py_ssize_t _TS_RECV = field_offset(_EventBase, "ts_recv")
cdef object _BookDelta = BookDelta
cdef object _Order = Order
cdef object _BookSnapshot = BookSnapshot
cdef object _Status = Status
cdef object _Trade = Trade
cdef object _Instrument = Instrument
cdef object _Metric = Metric
cdef object _Alert = Alert

# SymbolState's slots (set by bind(), once pipeline.py has defined the class).
cdef object _SymbolState = None
cdef Py_ssize_t _S_BOOK, _S_KEEPER, _S_MID, _S_VALUES, _S_ON_MID, _S_ON_BOOK
cdef Py_ssize_t _S_ON_TRADE, _S_ON_TRADE_SIZE


cdef Py_ssize_t _TOPIC_CACHE_SIZE = 4_096


def bind(symbol_state, topic_cache_size):
    """Called once by pipeline.py with its ``SymbolState`` class and ``TOPIC_CACHE_SIZE``."""
    global _SymbolState, _S_BOOK, _S_KEEPER, _S_MID, _S_VALUES, _S_ON_MID, _S_ON_BOOK
    global _S_ON_TRADE, _S_ON_TRADE_SIZE, _TOPIC_CACHE_SIZE
    _TOPIC_CACHE_SIZE = topic_cache_size
    _S_BOOK = field_offset(symbol_state, "book")
    _S_KEEPER = field_offset(symbol_state, "keeper")
    _S_MID = field_offset(symbol_state, "mid")
    _S_VALUES = field_offset(symbol_state, "values")
    _S_ON_MID = field_offset(symbol_state, "on_mid")
    _S_ON_BOOK = field_offset(symbol_state, "on_book")
    _S_ON_TRADE = field_offset(symbol_state, "on_trade")
    _S_ON_TRADE_SIZE = field_offset(symbol_state, "on_trade_size")
    _SymbolState = symbol_state


cdef inline bint _is_event(object event) noexcept:
    # A subtype test on the MRO (no __instancecheck__ lookup on msgspec's metaclass).
    return PyType_IsSubtype(Py_TYPE(event), <PyTypeObject*>_Base)


cdef inline object _event_field(object event, Py_ssize_t offset, str name):
    if _is_event(event):
        return field(event, offset, name)
    return getattr(event, name)


cdef inline void _set_mid(object state, object mid):
    """``state.mid = mid`` (a slot store)."""
    cdef PyObject* old
    if type(state) is _SymbolState:
        old = TP_FIELD(state, _S_MID)
        Py_INCREF(mid)
        TP_SET_FIELD(state, _S_MID, <PyObject*>mid)
        Py_XDECREF(old)
    else:
        state.mid = mid


@cython.final
cdef class StageMeter:
    """Events in/out and batch latencies of one stage, kept as plain ints and added to the
    Prometheus children in bulk by :meth:`flush` (the reference: pipeline.StageMeter). The bucket
    bounds and counts are C arrays here; ``bounds`` and ``counts`` read as the reference's lists."""

    cdef public object _in, _out, _latency
    cdef public long long events_in, events_out
    cdef public double sum
    cdef double* _bounds
    cdef long long* _counts
    cdef Py_ssize_t _buckets

    def __cinit__(self, *args, **kwargs):
        self._bounds = NULL
        self._counts = NULL
        self._buckets = 0

    def __dealloc__(self):
        free(self._bounds)
        free(self._counts)

    def __init__(self, events_in, events_out, latency):
        self._in, self._out, self._latency = events_in, events_out, latency
        self.events_in = self.events_out = 0
        bounds = getattr(latency, "_upper_bounds", None)
        bulk = bounds is not None and hasattr(latency, "_buckets") and hasattr(latency, "_sum")
        cdef list kept = list(bounds) if bounds is not None and bulk else []
        cdef Py_ssize_t i, count = len(kept)
        free(self._bounds)
        free(self._counts)
        self._bounds = <double*>calloc(count or 1, sizeof(double))
        self._counts = <long long*>calloc(count or 1, sizeof(long long))
        if self._bounds == NULL or self._counts == NULL:
            raise MemoryError()
        for i in range(count):
            self._bounds[i] = kept[i]
        self._buckets = count
        self.sum = 0.0

    @property
    def bounds(self):
        return [self._bounds[i] for i in range(self._buckets)]

    @property
    def counts(self):
        return [self._counts[i] for i in range(self._buckets)]

    cdef int _batch(self, Py_ssize_t events_in, Py_ssize_t events_out, double seconds) except -1:
        cdef Py_ssize_t lo, hi, mid
        self.events_in += events_in
        self.events_out += events_out
        if self._buckets:
            # bisect_left over the bounds (the bucket ``observe`` picks; +Inf is last).
            lo, hi = 0, self._buckets
            while lo < hi:
                mid = (lo + hi) >> 1
                if self._bounds[mid] < seconds:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == self._buckets:
                raise IndexError("list index out of range")  # as the reference's counts[lo]
            self._counts[lo] += 1
            self.sum += seconds
        else:
            self._latency.observe(seconds)
        return 0

    def batch(self, events_in, events_out, seconds):
        self._batch(events_in, events_out, seconds)

    def flush(self):
        cdef Py_ssize_t index
        cdef bint any_count = False
        if self.events_in:
            self._in.inc(self.events_in)
            self.events_in = 0
        if self.events_out and self._out is not None:
            self._out.inc(self.events_out)
            self.events_out = 0
        for index in range(self._buckets):
            if self._counts[index]:
                any_count = True
                break
        if any_count:
            buckets = self._latency._buckets
            for index in range(self._buckets):
                if self._counts[index]:
                    buckets[index].inc(self._counts[index])
                    self._counts[index] = 0
            self._latency._sum.inc(self.sum)
            self.sum = 0.0


cdef object _MISSING = object()

# A compiled series kernel's ``update(value, ts)`` is its ``_update`` (the calculators' note in
# docs/internal/core-accel-interface.md): a dispatch entry whose bound method is exactly
# SeriesKernel.update is called in C, with the same conversions of value and ts.
cdef object _SERIES_UPDATE = SeriesKernel.__dict__["update"]


cdef inline object _call_update(object update, object argument, object ts):
    # Only a float value and an int time that fits int64 go the C way; anything else takes the
    # bound method, whatever it does with it (converts, raises, falls back).
    cdef object kernel
    cdef int overflow = 0
    cdef long long t
    if (
        PyMethod_Check(update)
        and <object>PyMethod_GET_FUNCTION(update) is _SERIES_UPDATE
        and PyFloat_CheckExact(argument)
        and PyLong_CheckExact(ts)
    ):
        kernel = <object>PyMethod_GET_SELF(update)
        t = PyLong_AsLongLongAndOverflow(ts, &overflow)
        if not overflow and isinstance(kernel, SeriesKernel):
            return (<SeriesKernel>kernel)._update(PyFloat_AS_DOUBLE(argument), t)
    return update(argument, ts)


cdef extern from "Python.h":
    PyObject** _PyObject_GetDictPtr(object obj)


cdef inline dict _instance_dict(object pipeline):
    """``pipeline.__dict__`` through the object's dict slot (no attribute lookup); the generic
    read when the object has no plain dict there."""
    cdef PyObject** slot = _PyObject_GetDictPtr(pipeline)
    if slot != NULL and slot[0] != NULL and type(<object>slot[0]) is dict:
        return <dict>slot[0]
    return pipeline.__dict__


cdef inline object _attr(object pipeline, dict attrs, str name):
    """``pipeline.<name>`` from its instance dict (getattr when it is not there: its error)."""
    value = attrs.get(name, _MISSING)
    return getattr(pipeline, name) if value is _MISSING else value
cdef list _spare = None
cdef object _spare_append = None


def process(pipeline, list batch):
    """``Pipeline.process``: one batch through books and calculators, then out to every sink."""
    global _spare, _spare_append
    cdef double started = _now()
    # The output list and its bound append are reused from batch to batch (two allocations and
    # their GC tracking per venue message otherwise); a nested call (a sink feeding the bus
    # synchronously) finds none spare and makes its own.
    cdef list out = _spare
    if out is not None:
        append = _spare_append
        _spare = None
    else:
        out = []
        append = out.append
    # The pipeline's plain attributes, read and written in its instance dict (Pipeline defines
    # no descriptor for them): one lookup for ``__dict__``, then dict items -- a generic getattr
    # costs a type lookup (MRO walk) every time.
    cdef dict attrs = _instance_dict(pipeline)
    cdef dict states = _attr(pipeline, attrs, "states")
    sinks = _attr(pipeline, attrs, "sinks")
    # Without a sink nobody reads the BookSnapshots and Metrics: they are counted (stage
    # events_out) but not built; books, health, rules and calculator values all still update.
    cdef bint build = bool(sinks)
    cdef Py_ssize_t unbuilt = 0, filtered = 0
    last_stream = None
    last_symbol = None
    state = None
    cdef BookKeeper keeper = None
    cdef object symbols = None
    symbols_stream = None
    cdef bint is_event = False
    last_kind = None
    for event in batch:
        kind = type(event)
        if kind is not last_kind:  # a batch is mostly one kind: the MRO test once per run
            is_event = _is_event(event)
            last_kind = kind
        if is_event:
            stream = field(event, _STREAM, "stream")
            symbol = field(event, _SYMBOL, "symbol")
        else:
            stream, symbol = event.stream, event.symbol
        if symbol is not last_symbol or stream is not last_stream:
            # The stream's symbols dict is kept while the stream stays (a venue's messages
            # alternate symbols, not streams); _admit may create it, so it is looked up again then.
            if stream is not symbols_stream:
                symbols = states.get(stream)
                symbols_stream = stream if symbols is not None else None
            state = _MISSING if symbols is None else (<dict?>symbols).get(symbol, _MISSING)
            if state is _MISSING:
                state = pipeline._admit(event)
                symbols_stream = None
            last_stream, last_symbol = stream, symbol
            keeper = None
        if state is None:
            filtered += 1
            continue
        if keeper is None:
            keeper = field(state, _S_KEEPER, "keeper") if type(state) is _SymbolState else state.keeper
        if kind is _BookDelta:
            if keeper._delta(event):
                unbuilt += _book_message(state, keeper, event, append, build)
        elif kind is _Order:
            # An order-only feed builds the book through an L3 book; with BookDeltas (the
            # simulator sends both) the deltas are the book.
            if keeper._order(event):
                unbuilt += _book_message(state, keeper, event, append, build)
        elif kind is _BookSnapshot:
            keeper.snapshot(event, append)
            unbuilt += _book_message(state, keeper, event, append, build)
        elif kind is _Status:
            keeper.status(event, append)
        elif kind is _Trade:
            keeper.trade(event, append)
            if state.on_trade or state.on_trade_size:
                unbuilt += _trade(state, event, append, build)
        else:
            if kind is _Instrument:
                state.book.price_decimals = event.price_decimals
                state.book.size_decimals = event.size_decimals
            append(event)
    cdef Py_ssize_t count = len(batch)
    attrs["events_in"] = _attr(pipeline, attrs, "events_in") + count
    if filtered:  # adding 0 would store the same value
        attrs["filtered"] = _attr(pipeline, attrs, "filtered") + filtered
    cdef double now = _now()
    (<StageMeter?>_attr(pipeline, attrs, "core_meter"))._batch(count, len(out) + unbuilt, now - started)
    if out and sinks:
        routed = _route(pipeline, attrs, out)
        for sink in sinks.values():
            sink.publish(routed)
        (<StageMeter?>_attr(pipeline, attrs, "sink_meter"))._batch(len(routed), 0, _now() - now)
    if now >= _attr(pipeline, attrs, "_flush_at"):
        pipeline.flush_metrics()
    out.clear()
    _spare, _spare_append = out, append


cdef Py_ssize_t _book_message(
    object state, BookKeeper keeper, object event, object append, bint build
) except -1:
    """At the end of a venue message the book is consistent: publish it and its mid.
    Returns how many outputs were counted without being built (``build`` false)."""
    # ``event`` is a BookDelta, an Order or a BookSnapshot (process dispatched on its exact
    # type): its fields are at the _EventBase offsets.
    seq = field(event, _SEQ, "seq")
    ts = field(event, _TS_RECV, "ts_recv")
    cdef bint published = keeper._publish(seq, ts, append, build)
    cdef Py_ssize_t unbuilt = 0 if build or not published else 1
    cdef bint slots = type(state) is _SymbolState
    book = field(state, _S_BOOK, "book") if slots else state.book
    mid = (<Book>book)._mid() if type(book) is Book else book.mid()
    if mid is None:
        return unbuilt
    _set_mid(state, mid)
    values = field(state, _S_VALUES, "values") if slots else state.values
    # stream and symbol name the Metrics only: not read when none is built.
    stream = field(event, _STREAM, "stream") if build else None
    symbol = field(event, _SYMBOL, "symbol") if build else None
    if build:
        append(
            Metric(
                stream=stream,
                symbol=symbol,
                seq=seq,
                ts_recv=ts,
                name="mid",
                value=mid,
                source="book",
            )
        )
    else:
        unbuilt += 1
    on_mid = field(state, _S_ON_MID, "on_mid") if slots else state.on_mid
    on_book = field(state, _S_ON_BOOK, "on_book") if slots else state.on_book
    if on_mid:
        unbuilt += _feed(on_mid, mid, ts, values, stream, symbol, seq, append, build)
    if on_book:
        unbuilt += _feed(on_book, book, ts, values, stream, symbol, seq, append, build)
    return unbuilt


cdef Py_ssize_t _feed(
    list feed,
    object argument,
    object ts,
    dict values,
    object stream,
    object symbol,
    object seq,
    object append,
    bint build,
) except -1:
    """One feed's dispatch entries ``(update, calc, name, outputs, description)``, called with
    ``(argument, ts)``; their values stored and (``build``) published as Metrics."""
    cdef Py_ssize_t unbuilt = 0, count, index
    cdef tuple entry, outputs
    for entry in feed:
        update, calc, name, outputs, description = entry
        value = _call_update(update, argument, ts)
        if value is None:
            continue
        if outputs:
            results = calc.results
            count = len(outputs)
            if type(results) is not list or len(<list>results) != count:
                # Not a list of one value per output: the reference's own loop (zip strict=True
                # stores the pairs it reaches, then raises on a length mismatch).
                for metric_name, result in zip(outputs, results, strict=True):
                    values[metric_name] = result
                    if build:
                        append(_metric_of(stream, symbol, seq, ts, metric_name, result, description))
                if not build:
                    unbuilt += count
                continue
            for index in range(count):
                metric_name = outputs[index]
                result = (<list>results)[index]
                values[metric_name] = result
                if build:
                    append(
                        Metric(
                            stream=stream,
                            symbol=symbol,
                            seq=seq,
                            ts_recv=ts,
                            name=metric_name,
                            value=result,
                            source=description,
                        )
                    )
            if not build:
                unbuilt += count
            continue
        values[name] = value
        if build:
            append(
                Metric(
                    stream=stream,
                    symbol=symbol,
                    seq=seq,
                    ts_recv=ts,
                    name=name,
                    value=value,
                    source=description,
                )
            )
        else:
            unbuilt += 1
    return unbuilt


cdef list _route(object pipeline, dict attrs, list out):
    """``Pipeline._route``: ``(topic, event)`` pairs, topics cached per (stream, symbol) by the
    Metric's name, the Alert's severity or the event's type (the same cache, ``_topics``)."""
    cdef dict cache = _attr(pipeline, attrs, "_topics")
    cdef list routed = []
    cdef dict topics = None
    cdef object found
    last_stream = None
    last_symbol = None
    for event in out:
        if _is_event(event):
            stream = field(event, _STREAM, "stream")
            symbol = field(event, _SYMBOL, "symbol")
        else:
            stream, symbol = event.stream, event.symbol
        if symbol is not last_symbol or stream is not last_stream:
            found = cache.get((stream, symbol))
            if found is None:
                if len(cache) >= _TOPIC_CACHE_SIZE:
                    cache.clear()  # bounded by the symbols seen; this caps symbol churn
                found = cache[(stream, symbol)] = {}
            topics = <dict?>found
            last_stream, last_symbol = stream, symbol
        kind = type(event)
        if kind is _Metric:
            key = event.name
        elif kind is _Alert:
            key = (kind, event.severity)
        else:
            key = kind
        topic = topics.get(key)
        if topic is None:
            topic = topics[key] = event_topic(event)
        routed.append((topic, event))
    return routed


cdef Py_ssize_t _trade(object state, object trade, object append, bint build) except -1:
    price = trade.price / 10**trade.price_decimals
    ts = trade.ts_recv
    cdef Py_ssize_t unbuilt = 0
    feeds = [(state.on_trade, (price, ts))]
    if state.on_trade_size:
        size = trade.size / 10**trade.size_decimals
        feeds.append((state.on_trade_size, (price, size, ts)))
    values = state.values
    for feed, arguments in feeds:
        for update, calc, name, outputs, description in feed:
            value = update(*arguments)
            if value is None:
                continue
            if outputs:
                for metric_name, result in zip(outputs, calc.results, strict=True):
                    values[metric_name] = result
                    if build:
                        append(_metric(trade, metric_name, result, description))
                if not build:
                    unbuilt += len(outputs)
            elif build:
                values[name] = value
                append(_metric(trade, name, value, description))
            else:
                values[name] = value
                unbuilt += 1
    return unbuilt


cdef object _metric_of(stream, symbol, seq, ts, name, value, source):
    return Metric(
        stream=stream, symbol=symbol, seq=seq, ts_recv=ts, name=name, value=value, source=source
    )


cdef object _metric(object event, object name, object value, object source):
    return Metric(
        stream=event.stream,
        symbol=event.symbol,
        seq=event.seq,
        ts_recv=event.ts_recv,
        name=name,
        value=value,
        source=source,
    )
