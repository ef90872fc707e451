# cython: language_level=3
"""Compiled twin of :mod:`ingest.protocols.fix.normalize` (docs/decisions/0112, 0114).

:class:`Normalizer` runs ``FixNormalizer.normalize`` for W and X messages — the market-data hot
path — and d (security definitions, thousands at start-up) with the reference's state (the same
``price_decimals``, ``size_decimals`` and ``security_ids`` dicts, the same sequencer), in the
reference's order of reads and writes, so a DecodeError half-way leaves the same state on both
paths. f messages (status, rare) and other types call the reference's own method.

What is compiled, and why it stays exact:
- prices and sizes: ``scale`` in C for plain ASCII decimals (``4517.75``) that fit 18 digits;
  anything else (signs, spaces, underscores, too many digits, errors) calls the reference
  ``decimals.scale``;
- times: UTCTimestamp ``YYYYMMDD-HH:MM:SS[.f…]`` and CME's compact ``YYYYMMDDHHMMSS[f…]`` of
  ASCII digits in C, for days from 1970 to ~2191 (the day from the reference's cached
  ``_day_seconds``; outside, 64 bits may overflow), MDEntryTime (273) with its date put in front
  as the reference does; any other form calls the reference ``_time``;
- integers (83, 1023, 34): ASCII digits in C; anything else is the reference's expression;
- events are built by the same msgspec constructors with keyword arguments.
"""

from sys import intern

from cpython.unicode cimport PyUnicode_1BYTE_DATA, PyUnicode_GET_LENGTH

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)

from ingest.protocols.base import DecodeError, Sequencer
from ingest.protocols.fix import decimals as _decimals
from ingest.protocols.fix import timestamps as _timestamps
from ingest.protocols.fix.tables import (
    BOOK_ACTIONS,
    INSTRUMENT_TAGS,
    SIZE_STATISTICS,
    STATISTIC_NAMES,
)
from ingest.protocols.fix.venues import DEFAULT_SYMBOL_TAGS, SYMBOL_TAGS_BY_EXCHANGE
from pipelines.events import BookDelta, BookSnapshot, Instrument, Statistic, Trade

# Field keys, interned: the compiled parser's keys are the same objects, so dict lookups
# match on identity instead of comparing strings (Cython does not intern "270" itself).
cdef str _K34 = intern("34")
cdef str _K48 = intern("48")
cdef str _K52 = intern("52")
cdef str _K54 = intern("54")
cdef str _K60 = intern("60")
cdef str _K83 = intern("83")
cdef str _K207 = intern("207")
cdef str _K268 = intern("268")
cdef str _K269 = intern("269")
cdef str _K270 = intern("270")
cdef str _K271 = intern("271")
cdef str _K273 = intern("273")
cdef str _K278 = intern("278")
cdef str _K279 = intern("279")
cdef str _K1003 = intern("1003")
cdef str _K1023 = intern("1023")
cdef str _K2446 = intern("2446")
cdef str _K5797 = intern("5797")
cdef str _K107 = intern("107")
cdef str _K272 = intern("272")
cdef str _K562 = intern("562")
cdef str _K969 = intern("969")
# SecurityDefinition tags holding prices (the reference's _DEFINITION_PRICE_TAGS, in its order)
# and the venue_ids tags (tables.INSTRUMENT_TAGS), as interned keys.
cdef tuple _DEFINITION_PRICE_TAGS
cdef tuple _INSTRUMENT_TAGS = tuple(
    (key, intern(tag)) for key, tag in INSTRUMENT_TAGS.items()
)
cdef object _scale_py = _decimals.scale
cdef object _parse_fix_time_py = _timestamps.parse_fix_time
cdef object _day_seconds_py = _timestamps._day_seconds
cdef dict _BOOK_ACTIONS = BOOK_ACTIONS
cdef dict _STATISTIC_NAMES = STATISTIC_NAMES
cdef object _SIZE_STATISTICS = SIZE_STATISTICS
cdef dict _SYMBOL_TAGS_BY_EXCHANGE = SYMBOL_TAGS_BY_EXCHANGE
cdef tuple _DEFAULT_SYMBOL_TAGS = DEFAULT_SYMBOL_TAGS
cdef long long _POW10[19]
_POW10[0] = 1
for _n in range(1, 19):
    _POW10[_n] = _POW10[_n - 1] * 10


cdef int _digits(str text, Py_ssize_t start, Py_ssize_t stop, long long *out) noexcept:
    """ASCII digits text[start:stop] (at most 18) into *out; 0 when anything else is there."""
    cdef const unsigned char *data = <const unsigned char *> PyUnicode_1BYTE_DATA(text)
    cdef long long value = 0
    cdef Py_ssize_t i
    if stop - start > 18:
        return 0
    for i in range(start, stop):
        if data[i] < 48 or data[i] > 57:
            return 0
        value = value * 10 + (data[i] - 48)
    out[0] = value
    return 1


cdef object _scale(object text, long decimals, str tag):
    """decimals.scale(text, decimals, tag), in C for plain decimals."""
    cdef str string
    cdef const unsigned char *data
    cdef Py_ssize_t n, i, dot = -1, places, excess
    cdef long long value = 0
    cdef int count = 0
    if type(text) is not str or decimals < 0 or decimals > 18:
        return _scale_py(text, decimals, tag)
    string = <str> text
    if not PyUnicode_IS_ASCII(string):
        return _scale_py(text, decimals, tag)
    n = PyUnicode_GET_LENGTH(string)
    data = <const unsigned char *> PyUnicode_1BYTE_DATA(string)
    for i in range(n):
        if data[i] == 46 and dot < 0:  # the first "."; a second one is not a digit below
            dot = i
        elif data[i] < 48 or data[i] > 57:
            return _scale_py(text, decimals, tag)
        else:
            count += 1
    if count == 0 or count > 18:
        return _scale_py(text, decimals, tag)
    places = 0 if dot < 0 else n - dot - 1
    if places > decimals:
        # Only trailing zeros may be dropped ("1.50" at 1 decimal); else the reference raises.
        excess = places - decimals
        for i in range(n - excess, n):
            if data[i] != 48:
                return _scale_py(text, decimals, tag)
        n -= excess
        places = decimals
        count -= excess
    if count + (decimals - places) > 18:
        return _scale_py(text, decimals, tag)  # may not fit 64 bits: Python ints
    for i in range(n):
        if i != dot:
            value = value * 10 + (data[i] - 48)
    return value * _POW10[decimals - places]


cdef class _Clock:
    """The reference's parse_fix_time for UTCTimestamps, with the last day's seconds kept."""

    def __cinit__(self) -> None:
        self.day_key = -1

    cdef object parse(self, object text):
        """Nanoseconds, or None when the reference must parse ``text``."""
        cdef str string
        cdef const unsigned char *d
        cdef Py_ssize_t n
        cdef long long date = 0, h = 0, m = 0, s = 0, fraction = 0
        if type(text) is not str:
            return None
        string = <str> text
        n = PyUnicode_GET_LENGTH(string)
        if n < 14 or n > 27 or not PyUnicode_IS_ASCII(string):
            return None
        d = <const unsigned char *> PyUnicode_1BYTE_DATA(string)
        if d[8] != 45:
            return self._compact(string, n)
        if n < 17 or d[11] != 58 or d[14] != 58:  # "-", ":", ":"
            return None
        if not (_digits(string, 0, 8, &date) and _digits(string, 9, 11, &h)
                and _digits(string, 12, 14, &m) and _digits(string, 15, 17, &s)):
            return None
        if n > 17:
            if d[17] != 46 or not _digits(string, 18, n, &fraction):  # "." then 0-9 digits
                return None
            fraction *= _POW10[9 - (n - 18)]
        if h > 23 or m > 59 or s > 60:
            return None
        return self._at(date, h, m, s, fraction)

    cdef object _compact(self, str string, Py_ssize_t n):
        """CME's ``YYYYMMDDHHMMSS`` + up to nine fraction digits (all ASCII digits)."""
        cdef long long date = 0, h = 0, m = 0, s = 0, fraction = 0
        if n > 23:
            return None  # more than nine fraction digits: the reference raises
        if not (_digits(string, 0, 8, &date) and _digits(string, 8, 10, &h)
                and _digits(string, 10, 12, &m) and _digits(string, 12, 14, &s)
                and _digits(string, 14, n, &fraction)):
            return None
        fraction *= _POW10[9 - (n - 14)]
        if h > 23 or m > 59 or s > 60:
            return None
        return self._at(date, h, m, s, fraction)

    cdef object _at(self, long long date, long long h, long long m, long long s,
                    long long fraction):
        if date != self.day_key:
            # The reference's cached calendar arithmetic; an impossible date makes it raise,
            # and the reference then raises the DecodeError.
            try:
                seconds = _day_seconds_py(date // 10000, date // 100 % 100, date % 100)
            except ValueError:
                return None
            self.day_seconds = seconds
            self.day_key = date
        if self.day_seconds < 0 or self.day_seconds > 7_000_000_000:
            # Before 1970 or after ~2191 the nanoseconds may not fit 64 bits: Python ints.
            return None
        return (self.day_seconds + h * 3600 + m * 60 + s) * 1_000_000_000 + fraction


cdef class Normalizer:
    """The compiled ``FixNormalizer.normalize`` for one normalizer (its state and options)."""

    def __init__(self, reference: object) -> None:
        from ingest.protocols.fix import normalize as module  # loaded: it is our caller

        self.reference = reference
        self.stream = reference.stream
        self.sequencer = reference.sequencer
        self.plain_sequencer = type(reference.sequencer) is Sequencer
        self.symbol_tags = tuple([intern(tag) for tag in reference.symbol_tags])
        self.fixed_decimals = reference.fixed_decimals
        self.book_types = reference.book_types
        self.price_decimals = reference.price_decimals
        self.size_decimals = reference.size_decimals
        self.security_ids = reference.security_ids
        self.sides = module._SIDES
        self.clock = _Clock()
        self.reference_time = module.FixNormalizer._time
        global _DEFINITION_PRICE_TAGS
        _DEFINITION_PRICE_TAGS = tuple([intern(tag) for tag in module._DEFINITION_PRICE_TAGS])
        self.reference_other = reference._other

    def normalize(self, message: object, ts_recv: object) -> object:
        msg_type = message.msg_type
        if msg_type == "X":
            return self._incremental(message, ts_recv)
        if msg_type == "W":
            return self._snapshot(message, ts_recv)
        if msg_type == "d":
            return self._instrument(message, ts_recv)
        return self.reference.normalize_python(message, ts_recv)

    # -- helpers (the reference's, in the same order of dict reads and writes) -------------
    cdef long long _next(self) except? -1:
        cdef long long seq
        if self.plain_sequencer:
            seq = self.sequencer.seq + 1
            self.sequencer.seq = seq
            return seq
        return self.sequencer.next()

    cdef object _symbol(self, dict fields, object default):
        security_id = fields.get(_K48)
        if security_id is not None:
            known = self.security_ids.get(security_id)
            if known is not None:
                return known
        for tag in self._symbol_tags(fields):
            value = fields.get(tag)
            if value and isinstance(value, str):
                return value
        return default

    cdef tuple _symbol_tags(self, dict fields):
        if self.symbol_tags:
            return self.symbol_tags
        exchange = fields.get(_K207)
        if isinstance(exchange, str):
            return _SYMBOL_TAGS_BY_EXCHANGE.get(exchange, _DEFAULT_SYMBOL_TAGS)
        return _DEFAULT_SYMBOL_TAGS

    cdef tuple _scales(self, object symbol, list entries):
        cdef long price_dec, size_dec, places
        cdef dict entry
        if self.fixed_decimals >= 0:
            price_dec = self.fixed_decimals
        else:
            price_dec = self.price_decimals.get(symbol, 0)
            for entry in entries:
                price = entry.get(_K270)
                if price is not None and "." in price:
                    places = _decimals_of(price)
                    if places > price_dec:
                        price_dec = places
            self.price_decimals[symbol] = price_dec
        size_dec = self.size_decimals.get(symbol, 0)
        for entry in entries:
            size = entry.get(_K271)
            if size is not None and "." in size:
                places = _decimals_of(size)
                if places > size_dec:
                    size_dec = places
        self.size_decimals[symbol] = size_dec
        return (price_dec, size_dec)

    cdef object _time(self, dict fields, object date_hint):
        """TransactTime (60), else MDEntryDate/Time (272/273), else SendingTime (52); 0."""
        text = fields.get(_K60)
        if not text:
            text = fields.get(_K273)
            if text:
                text = _entry_time_text(fields, text, date_hint)
                if text is None:
                    return self.reference_time(fields, date_hint)
            else:
                text = fields.get(_K52)
                if not text:
                    return 0
        ns = self.clock.parse(text)
        if ns is None:
            return self.reference_time(fields, date_hint)
        return ns

    # -- W ---------------------------------------------------------------------------------
    cdef list _snapshot(self, object message, object ts_recv):
        cdef dict fields = message.fields
        cdef dict bids = {}, asks = {}, side_levels
        cdef list others = []
        cdef list events
        cdef tuple kind
        entries_value = fields.get(_K268) or []
        if type(entries_value) is not list:
            return self.reference.normalize_python(message, ts_recv)
        cdef list entries = entries_value
        symbol = self._symbol(fields, "")
        price_dec, size_dec = self._scales(symbol, entries)
        ts = self._time(fields, fields.get(_K52, ""))
        venue_seq = _venue_seq(fields, _msg_seq_num(fields))
        book_types = self.book_types
        for entry in entries:
            kind_value = book_types.get(entry.get(_K269, ""))
            if kind_value is None:
                others.append(entry)
                continue
            kind = kind_value
            if not kind[1]:  # the snapshot is the outright book; implied levels are not in it
                price = _scale(entry.get(_K270, "0"), price_dec, "270")
                side_levels = bids if kind[0] == "bid" else asks
                side_levels[price] = side_levels.get(price, 0) + _scale(
                    entry.get(_K271, "0"), size_dec, "271"
                )
        events = [
            BookSnapshot(
                stream=self.stream,
                symbol=symbol,
                seq=self._next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                bids=sorted(bids.items(), reverse=True),
                asks=sorted(asks.items()),
                price_decimals=price_dec,
                size_decimals=size_dec,
            )
        ]
        for entry in others:
            event = self._other(entry, symbol, venue_seq, ts, ts_recv, price_dec, size_dec)
            if event is not None:
                events.append(event)
        return events

    # -- X ---------------------------------------------------------------------------------
    cdef list _incremental(self, object message, object ts_recv):
        cdef dict fields = message.fields
        cdef list events = []
        cdef list symbols
        cdef dict scales
        cdef dict entry
        cdef tuple kind, scale_pair
        cdef Py_ssize_t index, last_book, count
        entries_value = fields.get(_K268) or []
        if type(entries_value) is not list:
            return self.reference.normalize_python(message, ts_recv)
        cdef list entries = entries_value
        default_symbol = self._symbol(fields, "")
        sending = fields.get(_K52, "")
        message_ts = self._time(fields, sending)
        message_seq = _msg_seq_num(fields)
        book_types = self.book_types
        stream = self.stream
        count = len(entries)
        symbols = [self._symbol(entry, default_symbol) for entry in entries]
        # The reference computes each symbol's scales over that symbol's entries (in a set's
        # order; the dict writes are the same ones in any order). Mostly one symbol: all entries.
        scales = dict.fromkeys(symbols)
        if len(scales) == 1:
            scales[symbols[0]] = self._scales(symbols[0], entries)
        else:
            for symbol in list(scales):
                scales[symbol] = self._scales(
                    symbol, [e for e, s in zip(entries, symbols) if s == symbol]
                )
        # batch_end goes on the last book entry: the book is consistent only after it.
        last_book = -1
        for index in range(count):
            if (<dict> entries[index]).get(_K269, "") in book_types:
                last_book = index
        for index in range(count):
            entry = entries[index]
            symbol = symbols[index]
            scale_pair = scales[symbol]
            price_dec = scale_pair[0]
            size_dec = scale_pair[1]
            if _K273 in entry or _K60 in entry:
                ts = self._time(entry, sending)
            else:
                ts = message_ts
            venue_seq = _venue_seq(entry, message_seq)
            kind_value = book_types.get(entry.get(_K269, ""))
            if kind_value is None:
                event = self._other(entry, symbol, venue_seq, ts, ts_recv, price_dec, size_dec)
                if event is not None:
                    events.append(event)
                continue
            kind = kind_value
            action = _BOOK_ACTIONS.get(entry.get(_K279, "0"))
            if action is None:
                raise DecodeError("bad_value", f"MDUpdateAction {entry.get('279')!r}")
            level = entry.get(_K1023, "")
            events.append(
                BookDelta(
                    stream=stream,
                    symbol=symbol,
                    seq=self._next(),
                    venue_seq=venue_seq,
                    ts_exchange=ts,
                    ts_recv=ts_recv,
                    side=kind[0],
                    price=_scale(entry.get(_K270, "0"), price_dec, "270"),
                    size=_scale(entry.get(_K271, "0"), size_dec, "271"),
                    action=action,
                    level=_level(level),
                    implied=kind[1],
                    batch_end=index == last_book,
                    price_decimals=price_dec,
                    size_decimals=size_dec,
                )
            )
        return events

    cdef object _other(
        self,
        dict entry,
        object symbol,
        object venue_seq,
        object ts,
        object ts_recv,
        object price_dec,
        object size_dec,
    ):
        """A trade, statistic or empty-book entry; None for types with no event."""
        entry_type = entry.get(_K269, "")
        if entry_type == "2":
            return Trade(
                stream=self.stream,
                symbol=symbol,
                seq=self._next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                price=_scale(entry.get(_K270, "0"), price_dec, "270"),
                size=_scale(entry.get(_K271, "0"), size_dec, "271"),
                price_decimals=price_dec,
                size_decimals=size_dec,
                side=self.sides.get(
                    entry.get(_K2446) or entry.get(_K5797) or entry.get(_K54, ""), ""
                ),
                trade_id=entry.get(_K1003) or entry.get(_K278, ""),
            )
        name = _STATISTIC_NAMES.get(entry_type)
        if name is not None:
            if entry_type in _SIZE_STATISTICS:
                value, decimals = _scale(entry.get(_K271, "0"), size_dec, "271"), size_dec
            else:
                value, decimals = _scale(entry.get(_K270, "0"), price_dec, "270"), price_dec
            return Statistic(
                stream=self.stream,
                symbol=symbol,
                seq=self._next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                name=name,
                value=value,
                decimals=decimals,
            )
        # The empty book (J) and the rest: the reference's code (rare).
        return self.reference_other(entry, symbol, venue_seq, ts, ts_recv, price_dec, size_dec)

    # -- d ----------------------------------------------------------------------------------
    cdef list _instrument(self, object message, object ts_recv):
        """The reference's _instrument, same reads and writes in the same order."""
        cdef dict fields = message.fields
        cdef long price_dec, size_dec, places
        symbol = ""
        symbol_tag = ""
        for tag in self._symbol_tags(fields):
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
                    places = _decimals_of(value)
                    if places > price_dec:
                        price_dec = places
        tick_text = fields.get(_K969)
        tick = _scale(tick_text, price_dec, "969") if isinstance(tick_text, str) else 1
        min_qty = fields.get(_K562)
        size_dec = _decimals_of(min_qty) if isinstance(min_qty, str) else 0
        venue_ids = {}
        for key, tag in _INSTRUMENT_TAGS:
            if tag != symbol_tag:
                value = fields.get(tag)
                if isinstance(value, str) and value:
                    venue_ids[key] = value
        self.price_decimals[symbol] = max(price_dec, self.price_decimals.get(symbol, 0))
        self.size_decimals[symbol] = max(size_dec, self.size_decimals.get(symbol, 0))
        security_id = fields.get(_K48)
        if isinstance(security_id, str) and security_id:
            self.security_ids[security_id] = symbol
        return [
            Instrument(
                stream=self.stream,
                symbol=symbol,
                seq=self._next(),
                venue_seq=_venue_seq(fields, _msg_seq_num(fields)),
                ts_exchange=self._time(fields, ""),
                ts_recv=ts_recv,
                tick_size=tick,
                price_decimals=price_dec,
                size_decimals=size_dec,
                venue_ids=venue_ids,
                description=fields.get(_K107, "") if symbol_tag != "107" else "",
            )
        ]


cdef object _entry_time_text(dict fields, object text, object date_hint):
    """The text the reference parses for MDEntryTime (273): a UTCTimeOnly gets MDEntryDate (272)
    or the SendingTime's date in front; None when anything is not a str (the reference decides)."""
    cdef str time_text, date
    if type(text) is not str:
        return None
    time_text = <str> text
    if ":" in time_text or len(time_text) <= 12:
        date_value = fields.get(_K272) or date_hint[:8]
        if type(date_value) is not str:
            return None
        date = <str> date_value
        return date + "-" + time_text if ":" in time_text else date + time_text
    return time_text


cdef long _decimals_of(object text) except? -1:
    """decimals.decimals_of: digits after the first '.'."""
    cdef str string
    cdef Py_ssize_t dot
    if type(text) is not str:
        return _decimals.decimals_of(text)
    string = <str> text
    dot = string.find(".")
    return 0 if dot < 0 else PyUnicode_GET_LENGTH(string) - dot - 1


cdef object _int_text(object text, object default):
    """``int(text) if text and text.isdecimal() else default`` (the reference's 83 and 34)."""
    cdef long long value = 0
    cdef Py_ssize_t n
    if type(text) is str:
        n = PyUnicode_GET_LENGTH(<str> text)
        if n and PyUnicode_IS_ASCII(<str> text) and _digits(<str> text, 0, n, &value):
            return value
    return int(text) if text and text.isdecimal() else default


cdef object _venue_seq(dict fields, object default):
    return _int_text(fields.get(_K83), default)


cdef object _msg_seq_num(dict fields):
    """FixMessage.msg_seq_num on its fields: MsgSeqNum (34), 0 when absent or not a number."""
    value = fields.get(_K34, "")
    return _int_text(value if isinstance(value, str) else "", 0)


cdef object _level(object level):
    """``int(level) if level.isdecimal() else 0`` (MDPriceLevel 1023)."""
    cdef long long value = 0
    cdef Py_ssize_t n
    if type(level) is str:
        n = PyUnicode_GET_LENGTH(<str> level)
        if n == 0:
            return 0
        if PyUnicode_IS_ASCII(<str> level) and _digits(<str> level, 0, n, &value):
            return value
    return int(level) if level.isdecimal() else 0
