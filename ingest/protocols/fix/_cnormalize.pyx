# cython: language_level=3, auto_pickle=False, autotestdict=False
"""Compiled twin of :mod:`ingest.protocols.fix.normalize` (docs/decisions/0112, 0114).

:class:`Normalizer` runs ``FixNormalizer.normalize`` for W and X messages — the market-data hot
path — and d (security definitions, thousands at start-up) with the reference's state (the same
``price_decimals``, ``size_decimals`` and ``security_ids`` dicts, the same sequencer), in the
reference's order of reads and writes, so a DecodeError half-way leaves the same state on both
paths. f messages (status, rare) and other types call the reference's own method.

The W and X steps, the value readers and the clock are :mod:`._centries`' (shared with the fused
decoder, ``_cplugin.pyx``); here they read the parsed message's entry dicts (:class:`_Dicts`).
Entries that are not a list of dicts (hand-made messages) go to the reference whole.
"""

from sys import intern as _intern

from ingest.protocols.fix._centries cimport (
    Clock,
    Entries,
    decimals_of,
    level_of,
    msg_seq_num,
    scale_text,
    venue_seq_of,
)

from ingest.protocols import base as _base
from ingest.protocols.fix import tables as _tables
from pipelines import events as _events

# Interned as the compiled parser's keys are (see _centries.pyx).
cdef str _K48 = _intern("48")
cdef str _K60 = _intern("60")
cdef str _K107 = _intern("107")
cdef str _K268 = _intern("268")
cdef str _K273 = _intern("273")
cdef str _K562 = _intern("562")
cdef str _K969 = _intern("969")
cdef str _K1023 = _intern("1023")
# SecurityDefinition tags holding prices (the reference's _DEFINITION_PRICE_TAGS, in its order)
# and the venue_ids tags (tables.INSTRUMENT_TAGS), as interned keys.
cdef tuple _DEFINITION_PRICE_TAGS
cdef tuple _INSTRUMENT_TAGS = tuple(
    (key, _intern(tag)) for key, tag in _tables.INSTRUMENT_TAGS.items()
)
cdef object _Instrument = _events.Instrument


cdef class _Dicts(Entries):
    """The entries of a parsed message: its NoMDEntries list of entry dicts."""

    cdef Normalizer normalizer
    cdef list entries

    cdef object get(self, Py_ssize_t entry, int tag, str key, object default):
        return (<dict> self.entries[entry]).get(key, default)

    cdef bint timed(self, Py_ssize_t entry) except -1:
        cdef dict fields = <dict> self.entries[entry]
        return _K273 in fields or _K60 in fields

    cdef object time(self, Py_ssize_t entry, object sending):
        return self.normalizer.optional_time(<dict> self.entries[entry], sending)

    cdef object symbol(self, Py_ssize_t entry, object default):
        return self.normalizer.symbol(<dict> self.entries[entry], default)

    cdef bint places(self, Py_ssize_t entry, int tag, str key, long *out) except -1:
        value = (<dict> self.entries[entry]).get(key)
        if value is not None and "." in value:
            out[0] = decimals_of(value)
            return True
        return False

    cdef object scaled(self, Py_ssize_t entry, int tag, str key, long decimals):
        return scale_text((<dict> self.entries[entry]).get(key, "0"), decimals, key)

    cdef object venue_seq(self, Py_ssize_t entry, object default):
        return venue_seq_of(<dict> self.entries[entry], default)

    cdef object level(self, Py_ssize_t entry):
        return level_of((<dict> self.entries[entry]).get(_K1023, ""))

    cdef object other(self, Py_ssize_t entry, object entry_type, object symbol, object venue_seq,
                      object ts, object ts_recv, long price_dec, long size_dec):
        event = self.normalizer.reference_other(
            self.entries[entry], symbol, venue_seq, ts, ts_recv, price_dec, size_dec
        )
        return False if event is None else event


cdef class Normalizer(MarketData):
    """The compiled ``FixNormalizer.normalize`` for one normalizer (its state and options)."""

    def __init__(self, reference: object) -> None:
        from ingest.protocols.fix import normalize as module  # loaded: it is our caller

        self.reference = reference
        self.stream = reference.stream
        self.sequencer = reference.sequencer
        self.plain_sequencer = type(reference.sequencer) is _base.Sequencer
        self.symbol_tags = tuple([_intern(tag) for tag in reference.symbol_tags])
        self.fixed_decimals = reference.fixed_decimals
        self.book_types = reference.book_types
        self.price_decimals = reference.price_decimals
        self.size_decimals = reference.size_decimals
        self.security_ids = reference.security_ids
        self.journal = reference.journal
        self.undo = module.undo
        self.sides = module._SIDES
        self.clock = Clock()
        self.reference_optional_time = reference._optional_time
        self.reference_sending_time = module.sending_time
        self.warnings = reference.warnings
        global _DEFINITION_PRICE_TAGS
        _DEFINITION_PRICE_TAGS = tuple([_intern(tag) for tag in module._DEFINITION_PRICE_TAGS])
        self.reference_other = reference._other

    def normalize(self, message: object, ts_recv: object) -> object:
        cdef dict fields
        msg_type = message.msg_type
        if msg_type == "X" or msg_type == "W":
            fields = message.fields
            entries = self._entries(fields)
            if entries is None:
                return self.reference.normalize_python(message, ts_recv)
            if self.journal:
                del self.journal[:]
            if self.warnings:
                del self.warnings[:]
            try:
                if msg_type == "X":
                    return self.incremental(fields, <Entries> entries, ts_recv)
                return self.snapshot(fields, <Entries> entries, ts_recv)
            except BaseException:
                self.undo(self.journal)  # as the reference: a rejected message leaves no trace
                del self.warnings[:]
                raise
        if msg_type == "d":
            if self.journal:
                del self.journal[:]
            if self.warnings:
                del self.warnings[:]
            try:
                return self._instrument(message, ts_recv)
            except BaseException:
                self.undo(self.journal)
                del self.warnings[:]
                raise
        return self.reference.normalize_python(message, ts_recv)

    cdef object _entries(self, dict fields):
        """The message's entries, or None when they are not a list of dicts."""
        cdef _Dicts entries
        value = fields.get(_K268) or []
        if type(value) is not list:
            return None
        for entry in <list> value:
            if type(entry) is not dict:
                return None
        entries = _Dicts.__new__(_Dicts)
        entries.normalizer = self
        entries.entries = <list> value
        entries.count = len(<list> value)
        return entries

    # -- d ----------------------------------------------------------------------------------
    cdef list _instrument(self, object message, object ts_recv):
        """The reference's _instrument, same reads and writes in the same order."""
        cdef dict fields = message.fields
        cdef long price_dec, size_dec, places
        symbol = ""
        symbol_tag = ""
        for tag in self.symbol_tags_of(fields):
            value = fields.get(tag)
            if value and isinstance(value, str):
                symbol, symbol_tag = value, tag
                break
        if self.fixed_decimals >= 0:
            price_dec = self.fixed_decimals
        else:
            price_dec = 0
            for tag in _DEFINITION_PRICE_TAGS:
                value = fields.get(tag)
                if isinstance(value, str):
                    places = decimals_of(value)
                    if places > price_dec:
                        price_dec = places
        tick_text = fields.get(_K969)
        tick = scale_text(tick_text, price_dec, "969") if isinstance(tick_text, str) else 1
        min_qty = fields.get(_K562)
        size_dec = decimals_of(min_qty) if isinstance(min_qty, str) else 0
        venue_ids = {}
        for key, tag in _INSTRUMENT_TAGS:
            if tag != symbol_tag:
                value = fields.get(tag)
                if isinstance(value, str) and value:
                    venue_ids[key] = value
        journal = self.journal
        journal.append((self.price_decimals, symbol, self.price_decimals.get(symbol)))
        self.price_decimals[symbol] = max(price_dec, self.price_decimals.get(symbol, 0))
        journal.append((self.size_decimals, symbol, self.size_decimals.get(symbol)))
        self.size_decimals[symbol] = max(size_dec, self.size_decimals.get(symbol, 0))
        security_id = fields.get(_K48)
        if isinstance(security_id, str) and security_id:
            journal.append((self.security_ids, security_id, self.security_ids.get(security_id)))
            self.security_ids[security_id] = symbol
        return [
            _Instrument(
                stream=self.stream,
                symbol=symbol,
                seq=self.next_seq(),
                venue_seq=venue_seq_of(fields, msg_seq_num(fields)),
                ts_exchange=self.time(fields, ""),
                ts_recv=ts_recv,
                tick_size=tick,
                price_decimals=price_dec,
                size_decimals=size_dec,
                venue_ids=venue_ids,
                description=fields.get(_K107, "") if symbol_tag != "107" else "",
            )
        ]
