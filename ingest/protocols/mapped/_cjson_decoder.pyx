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

This module is the entry point (routing, ``each``, the bail-out to the reference); the work is
split by job into modules that cimport each other through their ``.pxd``: ``_cjson_tape``
(the parser), ``_cjson_numbers`` (decimals, times, integers), ``_cjson_plan`` (paths and fields
built from the mapping), ``_cjson_state`` (the shared reference state), ``_cjson_events``,
``_cjson_messages`` (quote, trade and the handlers' base), ``_cjson_book`` and
``_cjson_checksum``.
"""

cimport cython
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp

from ._cjson_events cimport by_slot_writes
from ._cjson_messages cimport CHandler
from ._cjson_plan cimport CPath
from ._cjson_state cimport Slots, slot_get, slot_set
from ._cjson_tape cimport K_ARR, Tape, elements, is_scalar, k8, tape_k8

from ._cjson_book import CBook
from ._cjson_messages import CQuote, CTrade
from ._cjson_plan import Unsupported
from ._cjson_tape import Bail
from .book import BookHandler
from .messages import QuoteHandler, TradeHandler

__all__ = ["FastPath", "fast_events", "fast_path"]

cdef extern from "Python.h":
    const char* PyBytes_AS_STRING(object)
    Py_ssize_t PyBytes_GET_SIZE(object)

_NOTSET = object()


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
    """One routing rule (compile.Router): the path, the split, the keys and their targets."""

    cdef CPath path
    cdef bytes split
    cdef Py_ssize_t part
    cdef list keys
    cdef uint64_t* k8s    # each key's first 8 bytes
    cdef list targets     # message names
    cdef list handlers    # what each target runs: see FastPath._target

    def __dealloc__(self):
        free(self.k8s)


@cython.final
@cython.auto_pickle(False)  # it holds C buffers and the reference's objects: never pickled
cdef class FastPath:
    """The compiled decode of one MappedJsonDecoder: ``decode(data, ts_recv)`` gives exactly
    what the reference gives (events, DecodeError, state), running the reference itself for
    any frame it does not handle.

    ``frame_of(data)`` is the reference's bytes -> decoded frame (DecodeError bad_json);
    ``engine`` is the reference MappedEngine whose state this shares.
    """

    cdef object engine, frame_of, stats
    cdef Slots slots
    cdef Tape tape
    cdef list routes
    cdef object default_name, default_handler
    cdef dict handlers
    cdef CPath each
    cdef list row_errors  # the reference context's (cleared per frame, filled by it)
    cdef readonly dict compiled
    #: Frames handed to the reference code (unusual JSON, unsynced books, errors...).
    cdef readonly long long fallbacks

    def __init__(self, engine, frame_of):
        cdef _Route route
        self.engine = engine
        self.frame_of = frame_of
        self.stats = engine.ctx.stats
        self.slots = Slots(engine.ctx.stats, engine.ctx.sequencer)
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
                route.k8s[k] = k8(PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))
            route.targets = list(rule.values.values())
            self.routes.append(route)
        self.row_errors = engine.ctx.row_errors
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
                    compiled = CQuote(ctx, mapping.messages[name])
                elif type(handler) is TradeHandler:
                    compiled = CTrade(ctx, mapping.messages[name])
                elif type(handler) is BookHandler:
                    compiled = CBook(ctx, mapping.messages[name], handler)
                else:
                    raise Unsupported(f"{type(handler).__name__} is not compiled")
            except Unsupported as why:
                self.compiled[name] = str(why)
                continue
            (<CHandler>compiled).reference = handler
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
        cdef uint64_t key8
        for route in self.routes:
            found = route.path.resolve(t, frame)
            if found < 0:
                continue
            if not is_scalar(t, found):
                raise Bail()  # map_key of a container is its repr: the reference decides
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
            key8 = tape_k8(t, start, <int>klen)
            for k in range(len(route.keys)):
                key = route.keys[k]
                if (route.k8s[k] == key8 and PyBytes_GET_SIZE(key) == klen
                        and (klen <= 8 or memcmp(PyBytes_AS_STRING(key), s + start, klen) == 0)):
                    return route.handlers[k]
        return self.default_handler

    cdef int _one(self, Tape t, int frame, object ts_recv, list out, object data,
                  int item) except -1:
        """engine._one; bails (before any change) unless the message is ignored or compiled.
        ``item``: the message's index in the ``each`` array, -1 for the whole frame."""
        cdef CHandler handler
        cdef Slots slots
        cdef Py_ssize_t before
        cdef int stopped
        found = self._route(t, frame)
        if found is _NOTSET:
            raise Bail()
        stats = self.stats
        slots = self.slots
        if found is None:
            slot_set(stats, slots.messages, "messages", slot_get(stats, slots.messages, "messages") + 1)
            slot_set(stats, slots.ignored, "ignored", slot_get(stats, slots.ignored, "ignored") + 1)
            return 0
        handler = <CHandler>found
        before = len(out)
        stopped = handler.run(t, frame, ts_recv, out)
        if stopped:
            # Rows from stopped - 1 on go to the reference (a bad row, a first symbol...).
            self.fallbacks += 1
            message = self.frame_of(data)
            if item >= 0:
                message = self.engine._each(message)[item]
            out.extend(handler.reference.rows_from(message, stopped - 1, ts_recv))
        slot_set(stats, slots.messages, "messages", slot_get(stats, slots.messages, "messages") + 1)
        events = slot_get(stats, slots.events, "events") + (len(out) - before)
        slot_set(stats, slots.events, "events", events)
        return 0

    def decode(self, data, ts_recv):
        """Events of one frame, exactly as ``MappedJsonDecoder.decode`` gives them."""
        cdef Tape t = self.tape
        cdef list out
        cdef list items
        cdef int each, k
        if self.row_errors:
            self.row_errors.clear()
        if type(data) is not bytes or not t.parse(data):
            self.fallbacks += 1
            return self.engine.process(self.frame_of(data), ts_recv)
        out = []
        if self.each is not None:
            each = self.each.resolve(t, 0)
            if each >= 0 and (self.each.ends_slice or t.nodes[each].kind == K_ARR):
                items = elements(t, each, self.each.slice_ if self.each.ends_slice else None)
                for k in range(len(items)):
                    try:
                        self._one(t, items[k], ts_recv, out, data, k)
                    except Bail:
                        self.fallbacks += 1
                        # Items before k are done (as in the reference's loop); the reference
                        # takes the rest.
                        frame = self.frame_of(data)
                        for item in self.engine._each(frame)[k:]:
                            out.extend(self.engine._one(item, ts_recv))
                        return out
                return out
        try:
            self._one(t, 0, ts_recv, out, data, -1)
        except Bail:
            self.fallbacks += 1
            return self.engine.process(self.frame_of(data), ts_recv)
        return out


def fast_path(engine, frame_of):
    """The compiled decode for ``engine``'s mapping, or None when its routing uses a construct
    this twin leaves to the reference (message kinds it does not compile fall back per frame)."""
    try:
        return FastPath(engine, frame_of)
    except Unsupported:
        return None


def fast_events():
    """Whether events are built by slot writes (checked at import) rather than by keywords."""
    return by_slot_writes()
