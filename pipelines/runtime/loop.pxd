# C types of pipelines/runtime/loop.py (one source, docs/decisions/0117): the loop's state and
# meters are C classes, the keeper, book and series kernels are reached by C calls.
cimport cython

from pipelines.core._cbook cimport Book as CBook
from pipelines.core.bookkeeper cimport BookKeeper
from pipelines.core.calculators.kernel cimport SeriesKernel


cdef bint COMPILED
cdef Py_ssize_t STREAM, SYMBOL, SEQ, TS_RECV

cpdef double now() except? -1.0


@cython.final
cdef class FeedEntry:
    cdef readonly object update
    cdef readonly object calc
    cdef readonly object name
    cdef readonly tuple outputs
    cdef readonly list results
    cdef readonly object description
    cdef readonly SeriesKernel kernel


@cython.final
cdef class SymbolState:
    cdef public CBook book
    cdef public BookKeeper keeper
    cdef public dict calculators
    cdef public list on_mid
    cdef public list on_book
    cdef public list on_trade
    cdef public list on_trade_size
    cdef public list mid_calcs
    cdef public list trade_calcs
    cdef public object mid
    cdef public dict values


@cython.final
cdef class StageMeter:
    cdef public object _in
    cdef public object _out
    cdef public object _latency
    cdef public long long events_in
    cdef public long long events_out
    cdef double[::1] bounds
    cdef long long[::1] counts
    cdef Py_ssize_t buckets
    cdef public double sum

    cpdef batch(self, long long events_in, long long events_out, double seconds)
    @cython.locals(index=Py_ssize_t, counted=bint)
    cpdef flush(self)


@cython.locals(low=Py_ssize_t, high=Py_ssize_t, middle=Py_ssize_t)
cpdef Py_ssize_t bucket(double[::1] bounds, Py_ssize_t count, double seconds) except -1


@cython.final
cdef class Core:
    cdef public object admit
    cdef public dict states
    cdef public dict sinks
    cdef public long long events_in
    cdef public long long filtered
    cdef public StageMeter core_meter
    cdef public StageMeter sink_meter
    cdef public double flush_at
    cdef public dict topics
    cdef public list spare
    cdef public dict errors
    cdef public object on_error

    cpdef flush_metrics(self)
    @cython.locals(
        state=SymbolState, keeper=BookKeeper, out=list, states=dict, symbols=dict, build=bint,
        unbuilt=Py_ssize_t, filtered=Py_ssize_t, count=Py_ssize_t,
        started=double, finished=double, compiled=bint, fields=bint, rest=list,
        position=Py_ssize_t,
    )
    cpdef process(self, list batch)
    cdef _failed(self, str stage, object event, object exc)
    @cython.locals(cache=dict, routed=list, topics=dict)
    cpdef list route(self, list out)
    @cython.locals(book=CBook, unbuilt=Py_ssize_t, published=bint, values=dict)
    cdef Py_ssize_t _book_message(
        self, SymbolState state, object event, object append, bint build
    ) except -1
    @cython.locals(unbuilt=Py_ssize_t, values=dict, entry=FeedEntry)
    cdef Py_ssize_t _trade(self, SymbolState state, object trade, object append, bint build) except -1


@cython.locals(unbuilt=Py_ssize_t, entry=FeedEntry, kernel=SeriesKernel)
cdef Py_ssize_t _feed(
    list feed, object argument, object ts, dict values, object stream, object symbol,
    object seq, object append, bint build
) except -1

@cython.locals(outputs=tuple, results=list, index=Py_ssize_t)
cdef Py_ssize_t _store(
    FeedEntry entry, object value, dict values, object stream, object symbol, object seq,
    object ts, object append, bint build
) except -1

cdef object _metric(stream, symbol, seq, ts, name, value, source)
