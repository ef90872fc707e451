# cython: language_level=3, auto_pickle=False, autotestdict=False
"""Compiled building blocks of the FIX normalizer's W and X steps (docs/decisions 0112, 0114),
written once for the two compiled paths that run them:

- the compiled normalizer (``_cnormalize.pyx``) on a parsed message's fields dicts, and
- the fused decoder (``_cplugin.pyx``) on the parser's token ranges, without the dicts.

:class:`MarketData` holds the reference normalizer's state (its own ``price_decimals``,
``size_decimals`` and ``security_ids`` dicts and sequencer) and runs ``FixNormalizer._snapshot``,
``_incremental``, ``_other`` and ``_scales`` in the reference's order of reads and writes.
It reads NoMDEntries (268) through :class:`Entries`, which each path implements on its own
representation: entry ``i``'s value of a tag is what the reference's entry dict holds.

What is compiled, and why it stays exact:
- prices and sizes: ASCII decimals (``4517.75``) that fit 18 digits are scaled in C; anything
  else calls the reference ``decimals.scale`` (dicts) or makes the fused path give up (tokens);
- times: UTCTimestamp ``YYYYMMDD-HH:MM:SS[.f…]`` and CME's compact ``YYYYMMDDHHMMSS[f…]`` of
  ASCII digits in C, for days from 1970 to ~2191 (the day from the reference's cached
  ``_day_seconds``; outside, 64 bits may overflow), MDEntryTime (273: ``HH:MM:SS[.f…]`` and the
  digits-only ``HHMMSS[fff…]``, leading zero lost or not) on MDEntryDate (272) or SendingTime's
  date; any other form, and every value that does not parse, calls the reference
  (``_optional_time``, which writes the warning, or ``sending_time``, which raises);
- integers (83, 1023, 34): ASCII digits in C; anything else is the reference's expression;
- events are built by the same msgspec constructors with keyword arguments.

A step returns None only when ``Entries`` says to give up (the fused path, which then puts the
sequencer back and decodes the message through the two-step path); the dicts never do.
"""

from sys import intern

from cpython.unicode cimport PyUnicode_1BYTE_DATA, PyUnicode_GET_LENGTH

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)

from ingest.protocols.base import DecodeError
from ingest.protocols.fix import decimals as _decimals
from ingest.protocols.fix import tables as _tables
from ingest.protocols.fix import venues as _venues
from ingest.protocols.fix.timestamps import _day_seconds
from pipelines.events import BookDelta, BookSnapshot, Statistic, Trade

# Field keys, interned: the compiled parser's keys are the same objects, so dict lookups
# match on identity instead of comparing strings (Cython does not intern "270" itself).
cdef str _K34 = intern("34")
cdef str _K48 = intern("48")
cdef str _K52 = intern("52")
cdef str _K54 = intern("54")
cdef str _K60 = intern("60")
cdef str _K83 = intern("83")
cdef str _K207 = intern("207")
cdef str _K269 = intern("269")
cdef str _K270 = intern("270")
cdef str _K271 = intern("271")
cdef str _K272 = intern("272")
cdef str _K273 = intern("273")
cdef str _K278 = intern("278")
cdef str _K279 = intern("279")
cdef str _K1003 = intern("1003")
cdef str _K1023 = intern("1023")
cdef str _K2446 = intern("2446")
cdef str _K5797 = intern("5797")
cdef object _scale_py = _decimals.scale
cdef object _int_or_py = _decimals.int_or
cdef object _int_field_py = _decimals.int_field
cdef object _seq_num_py = _decimals.seq_num
cdef object _decimals_of_py = _decimals.decimals_of
cdef dict _BOOK_ACTIONS = _tables.BOOK_ACTIONS
cdef dict _STATISTIC_NAMES = _tables.STATISTIC_NAMES
cdef object _SIZE_STATISTICS = _tables.SIZE_STATISTICS
cdef dict _SYMBOL_TAGS_BY_EXCHANGE = _venues.SYMBOL_TAGS_BY_EXCHANGE
cdef tuple _DEFAULT_SYMBOL_TAGS = _venues.DEFAULT_SYMBOL_TAGS
cdef long long _POW10[19]
_POW10[0] = 1
for _n in range(1, 19):
    _POW10[_n] = _POW10[_n - 1] * 10


# -- values -----------------------------------------------------------------------------------
cdef int ascii_digits(const unsigned char *data, Py_ssize_t start, Py_ssize_t stop,
                      long long *out) noexcept:
    """ASCII digits data[start:stop] (at most 18) into *out; 0 when anything else is there."""
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


cdef int scale_digits(const unsigned char *data, Py_ssize_t start, Py_ssize_t stop,
                      long decimals, long long *out) noexcept:
    """``decimals.scale`` of data[start:stop] into *out when it is ASCII digits with at most one
    "." and fits 18 digits; 0 for the rest (signs, spaces, too many digits, errors)."""
    cdef Py_ssize_t i, n = stop, dot = -1, places, excess
    cdef long long value = 0
    cdef int count = 0
    if decimals < 0 or decimals > 18:
        return 0
    for i in range(start, n):
        if data[i] == 46 and dot < 0:  # the first "."; a second one is not a digit below
            dot = i
        elif data[i] < 48 or data[i] > 57:
            return 0
        else:
            count += 1
    if count == 0 or count > 18:
        return 0
    places = 0 if dot < 0 else n - dot - 1
    if places > decimals:
        # Only trailing zeros may be dropped ("1.50" at 1 decimal); else the reference raises.
        excess = places - decimals
        for i in range(n - excess, n):
            if data[i] != 48:
                return 0
        n -= excess
        places = decimals
        count -= excess
    if count + (decimals - places) > 18:
        return 0  # may not fit 64 bits: Python ints
    for i in range(start, n):
        if i != dot:
            value = value * 10 + (data[i] - 48)
    out[0] = value * _POW10[decimals - places]
    return 1


cdef Py_ssize_t places_of(const unsigned char *data, Py_ssize_t start, Py_ssize_t stop) noexcept:
    """Digits after the first "." of data[start:stop]; -1 without one."""
    cdef Py_ssize_t i
    for i in range(start, stop):
        if data[i] == 46:
            return stop - i - 1
    return -1


cdef object scale_text(object text, long decimals, str tag):
    """decimals.scale(text, decimals, tag), in C for plain decimals."""
    cdef long long value = 0
    if type(text) is str and PyUnicode_IS_ASCII(text) and scale_digits(
        <const unsigned char *> PyUnicode_1BYTE_DATA(text), 0, PyUnicode_GET_LENGTH(text),
        decimals, &value
    ):
        return value
    return _scale_py(text, decimals, tag)


cdef long decimals_of(object text) except? -1:
    """decimals.decimals_of: digits after the first '.'."""
    cdef Py_ssize_t dot
    if type(text) is not str:
        return _decimals_of_py(text)
    dot = (<str> text).find(".")
    return 0 if dot < 0 else PyUnicode_GET_LENGTH(text) - dot - 1


cdef object int_text(object text, object default, str tag):
    """``decimals.int_or(text, default, tag)``: digits as an int, else the default (the
    reference's 83 and 1023; DecodeError beyond int64)."""
    cdef long long value = 0
    cdef Py_ssize_t n
    if type(text) is str:
        n = PyUnicode_GET_LENGTH(text)
        if n and PyUnicode_IS_ASCII(text) and ascii_digits(
            <const unsigned char *> PyUnicode_1BYTE_DATA(text), 0, n, &value
        ):
            return value
    return _int_or_py(text, default, tag)


cdef object level_of(object text):
    """``int_field(level, "1023") if level.isdecimal() else 0`` (MDPriceLevel 1023)."""
    if type(text) is str:
        return int_text(text, 0, _K1023)  # "" as well: 0
    return _int_field_py(text, _K1023) if text.isdecimal() else 0


cdef object venue_seq_of(dict fields, object default):
    return int_text(fields.get(_K83), default, _K83)


cdef object msg_seq_num(dict fields):
    """FixMessage.msg_seq_num on its fields: MsgSeqNum (34), 0 when absent, not a number or
    beyond int64."""
    cdef long long value = 0
    cdef Py_ssize_t n
    text = fields.get(_K34, "")
    if type(text) is not str:
        return 0
    n = PyUnicode_GET_LENGTH(text)
    if n and PyUnicode_IS_ASCII(text) and ascii_digits(
        <const unsigned char *> PyUnicode_1BYTE_DATA(text), 0, n, &value
    ):
        return value
    return _seq_num_py(text)


cdef long _widest(dict known, object symbol, Entries entries, list members, int tag,
                  str key, list journal) except? -1:
    """``known[symbol]`` widened to the most decimals of ``tag`` in the entries (``_scales``);
    a change is written to ``journal`` first (the reference's order)."""
    cdef Py_ssize_t k, n = entries.count if members is None else len(members)
    cdef long places = 0, decimals, before
    found = known.get(symbol)
    before = 0 if found is None else found
    decimals = before
    for k in range(n):
        if entries.places(k if members is None else <Py_ssize_t> members[k], tag, key, &places):
            if places > decimals:
                decimals = places
    if found is None or decimals != before:
        journal.append((known, symbol, found))
    known[symbol] = decimals
    return decimals


cdef class Clock:
    """The reference's parse_fix_time for UTCTimestamps, with the last day's seconds kept."""

    def __cinit__(self) -> None:
        self.day_key = -1

    cdef object parse(self, object text):
        """Nanoseconds, or None when the reference must parse ``text``."""
        cdef const unsigned char *d
        cdef Py_ssize_t n
        cdef long long date = 0, h = 0, m = 0, s = 0, fraction = 0
        if type(text) is not str:
            return None
        n = PyUnicode_GET_LENGTH(text)
        if n < 14 or n > 27 or not PyUnicode_IS_ASCII(text):
            return None
        d = <const unsigned char *> PyUnicode_1BYTE_DATA(text)
        if d[8] != 45:
            return self._compact(d, n)
        if n < 17 or d[11] != 58 or d[14] != 58:  # "-", ":", ":"
            return None
        if not (ascii_digits(d, 0, 8, &date) and ascii_digits(d, 9, 11, &h)
                and ascii_digits(d, 12, 14, &m) and ascii_digits(d, 15, 17, &s)):
            return None
        if n > 17:
            if d[17] != 46 or not ascii_digits(d, 18, n, &fraction):  # "." then 0-9 digits
                return None
            fraction *= _POW10[9 - (n - 18)]
        return self._at(date, h, m, s, fraction)

    cdef object _compact(self, const unsigned char *d, Py_ssize_t n):
        """CME's ``YYYYMMDDHHMMSS`` + up to nine fraction digits (all ASCII digits)."""
        cdef long long date = 0, h = 0, m = 0, s = 0, fraction = 0
        if n > 23:
            return None  # more than nine fraction digits: the reference raises
        if not (ascii_digits(d, 0, 8, &date) and ascii_digits(d, 8, 10, &h)
                and ascii_digits(d, 10, 12, &m) and ascii_digits(d, 12, 14, &s)
                and ascii_digits(d, 14, n, &fraction)):
            return None
        fraction *= _POW10[9 - (n - 14)]
        return self._at(date, h, m, s, fraction)

    cdef object _at(self, long long date, long long h, long long m, long long s, long long fraction):
        if h > 23 or m > 59 or s > 60:
            return None  # the reference raises (60: a leap second is legal)
        if not self._day(date):
            return None
        return (self.day_seconds + h * 3600 + m * 60 + s) * 1_000_000_000 + fraction

    cdef bint _day(self, long long date) except -1:
        """Sets day_seconds to YYYYMMDD ``date``'s; False when the reference must decide."""
        if date != self.day_key:
            # The reference's cached calendar arithmetic; an impossible date makes it raise,
            # and the reference then raises the DecodeError (or warns).
            try:
                seconds = _day_seconds(date // 10000, date // 100 % 100, date % 100)
            except ValueError:
                return False
            self.day_seconds = seconds
            self.day_key = date
        # Before 1970 or after ~2191 the nanoseconds may not fit 64 bits: Python ints.
        return 0 <= self.day_seconds <= 7_000_000_000

    cdef object entry_time(self, object text, object date, object hint):
        """The reference's ``parse_entry_time(text, date, hint)`` (MDEntryTime 273 on
        MDEntryDate 272 or SendingTime's date) for ASCII forms it accepts; None when the
        reference must decide (other forms, and every value it refuses)."""
        cdef const unsigned char *d
        cdef Py_ssize_t n, i, digits
        cdef long long value = 0, h = 0, m = 0, s = 0, fraction = 0, day = 0
        cdef bint colon = False
        if type(text) is not str or not PyUnicode_IS_ASCII(text):
            return None
        n = PyUnicode_GET_LENGTH(text)
        d = <const unsigned char *> PyUnicode_1BYTE_DATA(text)
        if n >= 16 and (d[8] == 45 or (d[8] >= 48 and d[8] <= 57)):
            return self.parse(text)  # maybe a full timestamp: it has its own date
        for i in range(n):
            if d[i] == 58:
                colon = True
                break
        if colon:  # HH:MM:SS[.f…]
            if n < 8 or d[2] != 58 or d[5] != 58:
                return None
            if not (ascii_digits(d, 0, 2, &h) and ascii_digits(d, 3, 5, &m)
                    and ascii_digits(d, 6, 8, &s)):
                return None
            if n > 8:
                if n > 18 or d[8] != 46 or not ascii_digits(d, 9, n, &fraction):
                    return None
                fraction *= _POW10[9 - (n - 9)]
        else:  # digits only: the integer HHMMSS[fff…], its leading zero perhaps lost
            if n == 5 or n == 6:
                digits = 0
            elif n == 8 or n == 9:
                digits = 3
            elif n == 11 or n == 12:
                digits = 6
            elif n == 14 or n == 15:
                digits = 9
            else:
                return None
            if not ascii_digits(d, 0, n, &value):
                return None
            fraction = value % _POW10[digits] * _POW10[9 - digits]
            value //= _POW10[digits]
            h, m, s = value // 10000, value // 100 % 100, value % 100
        if h > 23 or m > 59 or s > 60:
            return None
        if date:
            if not self._date_text(date, &day):
                return None
        elif type(hint) is not str or PyUnicode_GET_LENGTH(hint) < 8 or not self._date_text(
            (<str> hint)[:8], &day
        ):
            return None
        return (day + h * 3600 + m * 60 + s) * 1_000_000_000 + fraction

    cdef bint _date_text(self, object text, long long *out) except -1:
        """Seconds of ``YYYYMMDD`` (8 ASCII digits, a day from 1970 to ~2191) into *out."""
        cdef long long date = 0
        if type(text) is not str or PyUnicode_GET_LENGTH(text) != 8 or not PyUnicode_IS_ASCII(text):
            return False
        if not ascii_digits(<const unsigned char *> PyUnicode_1BYTE_DATA(text), 0, 8, &date):
            return False
        if not self._day(date):
            return False
        out[0] = self.day_seconds
        return True


# -- the entries of one message -----------------------------------------------------------------
cdef class Entries:
    """NoMDEntries (268) of one message as the normalizer reads them; ``count`` entries, each
    method the reference's expression on entry ``entry``'s dict (``tag`` is ``key`` as a number)."""

    cdef object get(self, Py_ssize_t entry, int tag, str key, object default):
        """``entry.get(key, default)``."""
        raise NotImplementedError

    cdef bint timed(self, Py_ssize_t entry) except -1:
        """``"273" in entry or "60" in entry``: the entry carries its own time."""
        raise NotImplementedError

    cdef object time(self, Py_ssize_t entry, object sending):
        """The normalizer's ``_optional_time(entry, sending)``: the entry's time or None."""
        raise NotImplementedError

    cdef object symbol(self, Py_ssize_t entry, object default):
        """The normalizer's ``_symbol(entry, default)``."""
        raise NotImplementedError

    cdef bint places(self, Py_ssize_t entry, int tag, str key, long *out) except -1:
        """Whether the value has a "." (``_scales``' test), and then its decimals in *out."""
        raise NotImplementedError

    cdef object scaled(self, Py_ssize_t entry, int tag, str key, long decimals):
        """``scale(entry.get(key, "0"), decimals, key)``; None: give up."""
        raise NotImplementedError

    cdef object venue_seq(self, Py_ssize_t entry, object default):
        """``_venue_seq(entry, default)`` (RptSeq 83)."""
        raise NotImplementedError

    cdef object level(self, Py_ssize_t entry):
        """MDPriceLevel (1023) as BookDelta.level."""
        raise NotImplementedError

    cdef object other(self, Py_ssize_t entry, object entry_type, object symbol, object venue_seq,
                      object ts, object ts_recv, long price_dec, long size_dec):
        """The event of an entry neither book, trade nor statistic (J: the empty book); False
        for none; None: give up."""
        raise NotImplementedError


# -- the steps ----------------------------------------------------------------------------------
cdef class MarketData:
    """The reference normalizer's state and its W/X steps (its subclass sets the state)."""

    cdef long long next_seq(self) except? -1:
        cdef long long seq
        if self.plain_sequencer:
            seq = self.sequencer.seq + 1
            self.sequencer.seq = seq
            return seq
        return self.sequencer.next()

    cdef object symbol(self, dict fields, object default):
        security_id = fields.get(_K48)
        if security_id is not None:
            known = self.security_ids.get(security_id)
            if known is not None:
                return known
        for tag in self.symbol_tags_of(fields):
            value = fields.get(tag)
            if value and isinstance(value, str):
                return value
        return default

    cdef tuple symbol_tags_of(self, dict fields):
        if self.symbol_tags:
            return self.symbol_tags
        return self.tags_for(fields.get(_K207))

    cdef tuple tags_for(self, object exchange):
        """The symbol tags by SecurityExchange (207) when none are configured."""
        if isinstance(exchange, str):
            return _SYMBOL_TAGS_BY_EXCHANGE.get(exchange, _DEFAULT_SYMBOL_TAGS)
        return _DEFAULT_SYMBOL_TAGS

    cdef object time(self, dict fields, object date_hint):
        """The reference's _time: optional_time, else SendingTime (52, required), else 0."""
        ns = self.optional_time(fields, date_hint)
        if ns is not None:
            return ns
        text = fields.get(_K52)
        if not text:
            return 0
        ns = self.clock.parse(text)
        if ns is None:
            return self.reference_sending_time(text)  # other forms, or its DecodeError
        return ns

    cdef object optional_time(self, dict fields, object date_hint):
        """The reference's _optional_time: TransactTime (60), else MDEntryTime (273) on its
        date; None for neither. Common forms in C; the rest, and every value that does not
        parse (its warning), through the reference's own method."""
        text = fields.get(_K60)
        if text:
            ns = self.clock.parse(text)
        else:
            text = fields.get(_K273)
            if not text:
                return None
            ns = self.clock.entry_time(text, fields.get(_K272), date_hint)
        if ns is None:
            return self.reference_optional_time(fields, date_hint)
        return ns

    cdef int scales(self, object symbol, Entries entries, list members, long *price_dec,
                    long *size_dec) except -1:
        """The reference's _scales over ``members`` (entry indices; None: all entries)."""
        if self.fixed_decimals >= 0:
            price_dec[0] = self.fixed_decimals
        else:
            price_dec[0] = _widest(
                self.price_decimals, symbol, entries, members, 270, _K270, self.journal
            )
        size_dec[0] = _widest(
            self.size_decimals, symbol, entries, members, 271, _K271, self.journal
        )
        return 0

    # -- W ------------------------------------------------------------------------------------
    cdef object snapshot(self, dict fields, Entries entries, object ts_recv):
        cdef long price_dec = 0, size_dec = 0
        cdef Py_ssize_t entry
        cdef dict bids = {}, asks = {}, side_levels, book_types = self.book_types
        cdef list others = []
        cdef list events
        cdef tuple kind
        symbol = self.symbol(fields, "")
        self.scales(symbol, entries, None, &price_dec, &size_dec)
        ts = self.time(fields, fields.get(_K52, ""))
        venue_seq = venue_seq_of(fields, msg_seq_num(fields))
        for entry in range(entries.count):
            entry_type = entries.get(entry, 269, _K269, "")
            kind_value = book_types.get(entry_type)
            if kind_value is None:
                others.append((entry, entry_type))
                continue
            kind = kind_value
            if not kind[1]:  # the snapshot is the outright book; implied levels are not in it
                price = entries.scaled(entry, 270, _K270, price_dec)
                size = entries.scaled(entry, 271, _K271, size_dec)
                if price is None or size is None:
                    return None
                side_levels = bids if kind[0] == "bid" else asks
                side_levels[price] = side_levels.get(price, 0) + size
        events = [
            BookSnapshot(
                stream=self.stream,
                symbol=symbol,
                seq=self.next_seq(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                bids=sorted(bids.items(), reverse=True),
                asks=sorted(asks.items()),
                price_decimals=price_dec,
                size_decimals=size_dec,
            )
        ]
        for entry, entry_type in others:
            event = self.other(
                entries, entry, entry_type, symbol, venue_seq, ts, ts_recv, price_dec, size_dec
            )
            if event is None:
                return None
            if event is not False:
                events.append(event)
        return events

    # -- X ------------------------------------------------------------------------------------
    cdef object incremental(self, dict fields, Entries entries, object ts_recv):
        cdef Py_ssize_t entry, count = entries.count, last_book = -1
        cdef long price_dec = 0, size_dec = 0
        cdef bint single
        cdef list symbols, types, events = []
        cdef dict scales = {}, book_types = self.book_types
        cdef tuple kind, pair
        default_symbol = self.symbol(fields, "")
        sending = fields.get(_K52, "")
        message_ts = self.time(fields, sending)
        message_seq = msg_seq_num(fields)
        symbols = [entries.symbol(entry, default_symbol) for entry in range(count)]
        # The reference computes each symbol's scales over that symbol's entries (in a set's
        # order; the dict writes are the same ones in any order). Mostly one symbol: all entries.
        distinct = dict.fromkeys(symbols)
        single = len(distinct) == 1
        if single:
            self.scales(symbols[0], entries, None, &price_dec, &size_dec)
        else:
            for symbol in distinct:
                members = [entry for entry in range(count) if symbols[entry] == symbol]
                self.scales(symbol, entries, members, &price_dec, &size_dec)
                scales[symbol] = (price_dec, size_dec)
        types = [entries.get(entry, 269, _K269, "") for entry in range(count)]
        for entry in range(count):
            if types[entry] in book_types:
                last_book = entry  # batch_end goes there: the book is consistent only after it
        stream = self.stream
        for entry in range(count):
            symbol = symbols[entry]
            if not single:
                pair = scales[symbol]
                price_dec = pair[0]
                size_dec = pair[1]
            ts = message_ts
            if entries.timed(entry):
                # The entry's own time; without one that parses, the message's.
                entry_ts = entries.time(entry, sending)
                if entry_ts is not None:
                    ts = entry_ts
            venue_seq = entries.venue_seq(entry, message_seq)
            kind_value = book_types.get(types[entry])
            if kind_value is None:
                event = self.other(
                    entries, entry, types[entry], symbol, venue_seq, ts, ts_recv, price_dec,
                    size_dec,
                )
                if event is None:
                    return None
                if event is not False:
                    events.append(event)
                continue
            kind = kind_value
            action = _BOOK_ACTIONS.get(entries.get(entry, 279, _K279, "0"))
            if action is None:
                raise DecodeError(
                    "bad_value", f"MDUpdateAction {entries.get(entry, 279, _K279, None)!r}"
                )
            seq = self.next_seq()
            price = entries.scaled(entry, 270, _K270, price_dec)
            size = entries.scaled(entry, 271, _K271, size_dec)
            if price is None or size is None:
                return None
            events.append(
                BookDelta(
                    stream=stream,
                    symbol=symbol,
                    seq=seq,
                    venue_seq=venue_seq,
                    ts_exchange=ts,
                    ts_recv=ts_recv,
                    side=kind[0],
                    price=price,
                    size=size,
                    action=action,
                    level=entries.level(entry),
                    implied=kind[1],
                    batch_end=entry == last_book,
                    price_decimals=price_dec,
                    size_decimals=size_dec,
                )
            )
        return events

    cdef object other(self, Entries entries, Py_ssize_t entry, object entry_type, object symbol,
                      object venue_seq, object ts, object ts_recv, long price_dec, long size_dec):
        """A trade or statistic; other types as ``entries.other`` says (an event, False for
        none, None to give up)."""
        if entry_type == "2":
            seq = self.next_seq()
            price = entries.scaled(entry, 270, _K270, price_dec)
            size = entries.scaled(entry, 271, _K271, size_dec)
            if price is None or size is None:
                return None
            side = (
                entries.get(entry, 2446, _K2446, None)
                or entries.get(entry, 5797, _K5797, None)
                or entries.get(entry, 54, _K54, "")
            )
            return Trade(
                stream=self.stream,
                symbol=symbol,
                seq=seq,
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                price=price,
                size=size,
                price_decimals=price_dec,
                size_decimals=size_dec,
                side=self.sides.get(side, ""),
                trade_id=entries.get(entry, 1003, _K1003, None) or entries.get(entry, 278, _K278, ""),
            )
        name = _STATISTIC_NAMES.get(entry_type)
        if name is None:
            return entries.other(
                entry, entry_type, symbol, venue_seq, ts, ts_recv, price_dec, size_dec
            )
        if entry_type in _SIZE_STATISTICS:
            value, decimals = entries.scaled(entry, 271, _K271, size_dec), size_dec
        else:
            value, decimals = entries.scaled(entry, 270, _K270, price_dec), price_dec
        if value is None:
            return None
        return Statistic(
            stream=self.stream,
            symbol=symbol,
            seq=self.next_seq(),
            venue_seq=venue_seq,
            ts_exchange=ts,
            ts_recv=ts_recv,
            name=name,
            value=value,
            decimals=decimals,
        )
