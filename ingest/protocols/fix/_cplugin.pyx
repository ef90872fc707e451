# cython: language_level=3
"""Compiled twin of ``FixDecoder.decode`` (:mod:`ingest.protocols.fix.plugin`; decisions 0112,
0114): bytes of a W or X message straight to events, without the FixMessage in between.

The two-step path (compiled parse → fields dicts → compiled normalize) spends most of its time
making ``str`` values and dicts that the normalizer reads once. Here the compiled parser's
tokens are walked with its own tables, each NoMDEntries entry is kept as a range of tokens, and
the normalizer's steps run on values read from those tokens:

- an entry's value for a tag is what the reference's entry dict would hold: the first
  occurrence for a member of the group (a repeat is error 15 and is not stored), the last one for
  a tag outside the group (373=2, stored over);
- top-level values go into a small dict of only the tags the normalizer reads (first occurrence
  wins, as in ``fields``), and the normalizer's own helpers (``_symbol``, ``_time``) run on it;
- prices and sizes are scaled from the bytes for plain ASCII decimals.

Exact by construction: whenever the message is not plain — anything the two-step path would
treat specially (another message type, a nested group, a second NoMDEntries, a DecodeError on
the way, an entry type whose event the reference builds elsewhere) — this path gives up, puts
the sequencer back, and the two-step path decodes the message (its result is the reference's).
The only state it writes before giving up is the per-symbol scale, which the two-step path
writes again to the same value (a max over the same strings).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memset

from ingest.protocols.fix._cnormalize cimport Normalizer, _int_text
from ingest.protocols.fix._cparser cimport Parser, Token, _Group, _MessagePlan

from sys import intern

from ingest.protocols.base import DecodeError
from ingest.protocols.fix.tables import BOOK_ACTIONS, SIZE_STATISTICS, STATISTIC_NAMES
from ingest.protocols.fix.venues import DEFAULT_SYMBOL_TAGS, SYMBOL_TAGS_BY_EXCHANGE
from pipelines.events import BookDelta, BookSnapshot, Statistic, Trade

cdef extern from "Python.h":
    object PyUnicode_DecodeLatin1(const char *s, Py_ssize_t size, const char *errors)

cdef dict _BOOK_ACTIONS = BOOK_ACTIONS
cdef dict _STATISTIC_NAMES = STATISTIC_NAMES
cdef object _SIZE_STATISTICS = SIZE_STATISTICS
cdef dict _SYMBOL_TAGS_BY_EXCHANGE = SYMBOL_TAGS_BY_EXCHANGE
cdef tuple _DEFAULT_SYMBOL_TAGS = DEFAULT_SYMBOL_TAGS
cdef long long _POW10[19]
_POW10[0] = 1
for _n in range(1, 19):
    _POW10[_n] = _POW10[_n - 1] * 10

# Top-level tags the normalizer reads for W and X (symbol tags are added per decoder).
cdef tuple _TOP_TAGS = (34, 48, 52, 60, 83, 207, 272, 273)
# Entry tags _time reads when an entry carries its own time (60 or 273).
cdef tuple _TIME_TAGS = (60, 273, 272, 52)

cdef struct Entry:
    Py_ssize_t first  # token index of the entry's first field
    Py_ssize_t stop  # one past its last field


cdef inline bint _has(const unsigned char *bits, int tag) noexcept nogil:
    return (bits[tag >> 3] >> (tag & 7)) & 1


cdef inline object _text(const char *base, Token *token):
    return PyUnicode_DecodeLatin1(base + token.start, token.end - token.start, NULL)


cdef int _tag_number(object text) except -2:
    """The tag of a symbol-tag string when canonical (as wire tags are here), else -1."""
    if not isinstance(text, str) or not text.isdecimal() or not text.isascii():
        return -1
    if len(text) > 5 or (len(text) > 1 and text[0] == "0") or int(text) >= 65536:
        return -1
    return int(text)


cdef class Decoder:
    """``FixDecoder.decode`` compiled, for one decoder (its parser, normalizer and sequencer)."""

    cdef object reference
    cdef Parser parser
    cdef Normalizer normalizer
    cdef object sequencer
    cdef bint fused  # the sequencer can be put back by assignment (a plain Sequencer)
    cdef Entry *entries
    cdef Py_ssize_t capacity
    cdef Py_ssize_t count  # entries of the message being decoded
    cdef _Group group  # its NoMDEntries group
    cdef dict top_keys  # tag -> interned key, for the top-level tags read
    cdef unsigned char top_bits[8192]  # the same tags as a bitset (most fields are not read)
    cdef tuple last_tags  # the symbol tags of the last entry, and their numbers
    cdef int last_numbers[8]
    cdef int last_count
    cdef dict tag_numbers  # symbol-tag string -> tag number (-1: never on the wire here)
    cdef object symbol_text  # the last symbol made, reused while the bytes are the same
    cdef bytes symbol_bytes
    # Messages decoded straight from the bytes (the rest took the two-step path): for tests.
    cdef readonly long long fused_messages

    def __cinit__(self) -> None:
        self.capacity = 64
        self.entries = <Entry *> malloc(self.capacity * sizeof(Entry))
        if self.entries == NULL:
            raise MemoryError()

    def __dealloc__(self) -> None:
        free(self.entries)

    def __init__(self, reference: object, parser: Parser, normalizer: Normalizer) -> None:
        self.reference = reference
        self.parser = parser
        self.normalizer = normalizer
        self.sequencer = normalizer.sequencer
        self.fused = normalizer.plain_sequencer
        self.tag_numbers = {}
        tags = set(_TOP_TAGS)
        for symbol_tags in (normalizer.symbol_tags, _DEFAULT_SYMBOL_TAGS,
                            *_SYMBOL_TAGS_BY_EXCHANGE.values()):
            for text in symbol_tags:
                self.tag_numbers[text] = _tag_number(text)
                if self.tag_numbers[text] >= 0:
                    tags.add(self.tag_numbers[text])
        self.top_keys = {tag: intern(str(tag)) for tag in tags}
        memset(self.top_bits, 0, sizeof(self.top_bits))
        for tag in tags:
            self.top_bits[<int> tag >> 3] |= <unsigned char> (1 << (<int> tag & 7))
        self.last_tags = None
        self.last_count = 0
        self.symbol_text = ""
        self.symbol_bytes = b""

    def decode(self, data: object, ts_recv: object) -> object:
        """Events of one framed message, ``seq`` assigned; raises DecodeError only."""
        cdef object start = self.sequencer.seq
        cdef object events
        try:
            if self.fused and type(data) is bytes:
                try:
                    events = self._fused(<bytes> data, ts_recv)
                except DecodeError:
                    events = None  # the two-step path raises it, or not, as the reference does
                if events is not None:
                    self.fused_messages += 1
                    return events
                self.sequencer.seq = start  # it gave up: the two-step path numbers again
            return self.normalizer.normalize(self.parser.parse(data), ts_recv)
        except DecodeError:
            self.sequencer.seq = start  # no seq numbers for events that were never emitted
            raise

    # -- structure --------------------------------------------------------------------------
    cdef object _fused(self, bytes data, object ts_recv):
        """The events, or None when the two-step path must decode the message."""
        cdef Parser parser = self.parser
        cdef Py_ssize_t count = parser._scan(data)
        cdef Py_ssize_t index = 0
        cdef const char *base
        cdef Token *token
        cdef _MessagePlan plan
        cdef bint seen_entries = False
        cdef int tag
        cdef dict top = {}
        if count < 0:
            return None
        msg_type = parser.msg_type
        if msg_type != "X" and msg_type != "W":
            return None
        base = PyBytes_AS_STRING(data)
        plan = parser.plan
        self.count = 0
        while index < count:
            token = &parser.tokens[index]
            index += 1
            tag = token.tag
            if _has(plan.group_bits, tag):
                if tag != 268 or seen_entries:
                    return None  # another group, or NoMDEntries twice (the last one wins)
                seen_entries = True
                self.group = <_Group> plan.groups[tag]
                index = self._walk(base, count, index, token)
                if index < 0:
                    return None
            elif tag == 268:
                return None  # NoMDEntries not a group here: the reference fails on it
            elif _has(self.top_bits, tag):
                key = self.top_keys[tag]
                if key not in top:
                    top[key] = _text(base, token)
        if msg_type == "X":
            return self._incremental(base, top, ts_recv)
        return self._snapshot(base, top, ts_recv)

    cdef Py_ssize_t _walk(
        self, const char *base, Py_ssize_t count, Py_ssize_t index, Token *count_token
    ) except -2:
        """The parser's group walk for NoMDEntries, keeping entries as token ranges; returns
        the index after the group, -1 to give up."""
        cdef Parser parser = self.parser
        cdef _Group group = self.group
        cdef long long expected = 0
        cdef Py_ssize_t i, digits = 0
        cdef int delimiter = group.delimiter
        cdef int tag
        cdef bint started = False
        for i in range(count_token.start, count_token.end):
            if base[i] < 48 or base[i] > 57:
                return -1
            if digits or base[i] != 48:
                digits += 1
            expected = expected * 10 + (base[i] - 48)
        if count_token.end == count_token.start or digits > 18:
            return -1
        if expected == 0:
            return index
        while index < count:
            tag = parser.tokens[index].tag
            if tag == delimiter:
                self._open(index, started)
                started = True
            elif not _has(group.members, tag):
                if not started or group.stop_all or _has(group.stops, tag):
                    break
            elif not started:
                delimiter = tag  # the reference's "starts with" case
                self._open(index, started)
                started = True
            elif _has(group.nested_bits, tag):
                return -1
            index += 1
        if started:
            self.entries[self.count - 1].stop = index
        return index

    cdef int _open(self, Py_ssize_t index, bint close) except -1:
        cdef Entry *grown
        if close:
            self.entries[self.count - 1].stop = index
        if self.count == self.capacity:
            grown = <Entry *> realloc(self.entries, 2 * self.capacity * sizeof(Entry))
            if grown == NULL:
                raise MemoryError()
            self.entries = grown
            self.capacity *= 2
        self.entries[self.count].first = index
        self.count += 1
        return 0

    cdef Py_ssize_t _find(self, Py_ssize_t entry, int tag) noexcept:
        """Token index of ``tag`` in the entry as its dict would hold it, -1 when absent."""
        cdef Entry *range_ = &self.entries[entry]
        cdef Token *tokens = self.parser.tokens
        cdef Py_ssize_t i
        if tag < 0:
            return -1
        if _has(self.group.members, tag):
            for i in range(range_.first, range_.stop):
                if tokens[i].tag == tag:
                    return i  # a repeat inside the entry is error 15, not stored
            return -1
        i = range_.stop - 1
        while i >= range_.first:
            if tokens[i].tag == tag:
                return i  # outside the group (373=2): each occurrence is stored over the last
            i -= 1
        return -1

    cdef object _get(self, const char *base, Py_ssize_t entry, int tag, object default):
        """``entry.get(tag, default)``."""
        cdef Py_ssize_t at = self._find(entry, tag)
        return default if at < 0 else _text(base, &self.parser.tokens[at])

    # -- values -----------------------------------------------------------------------------
    cdef object _symbol(self, const char *base, Py_ssize_t entry, object default):
        """The normalizer's _symbol on an entry."""
        cdef Normalizer normalizer = self.normalizer
        cdef Py_ssize_t at, i
        cdef Token *token
        cdef tuple tags
        if normalizer.security_ids:
            at = self._find(entry, 48)
            if at >= 0:
                known = normalizer.security_ids.get(_text(base, &self.parser.tokens[at]))
                if known is not None:
                    return known
        if normalizer.symbol_tags:
            tags = normalizer.symbol_tags
        else:
            at = self._find(entry, 207)
            if at >= 0:
                tags = _SYMBOL_TAGS_BY_EXCHANGE.get(
                    _text(base, &self.parser.tokens[at]), _DEFAULT_SYMBOL_TAGS
                )
            else:
                tags = _DEFAULT_SYMBOL_TAGS
        if tags is not self.last_tags:
            if len(tags) > 8:
                return self._symbol_slow(base, entry, tags, default)
            self.last_count = len(tags)
            for i, text in enumerate(tags):
                number = self.tag_numbers.get(text)
                self.last_numbers[i] = -1 if number is None else <int> number
            self.last_tags = tags
        for i in range(self.last_count):
            at = self._find(entry, self.last_numbers[i])
            if at < 0:
                continue
            token = &self.parser.tokens[at]
            if token.end == token.start:
                continue  # empty: the next tag
            return self._symbol_text(base, token)
        return default

    cdef object _symbol_slow(self, const char *base, Py_ssize_t entry, tuple tags, object default):
        cdef Py_ssize_t at
        cdef Token *token
        for text in tags:
            number = self.tag_numbers.get(text)
            at = self._find(entry, -1 if number is None else <int> number)
            if at < 0:
                continue
            token = &self.parser.tokens[at]
            if token.end == token.start:
                continue  # empty: the next tag
            return self._symbol_text(base, token)
        return default

    cdef object _symbol_text(self, const char *base, Token *token):
        # Consecutive entries name the same instrument: one str for them.
        cdef Py_ssize_t size = token.end - token.start
        cdef bytes last = self.symbol_bytes
        if PyBytes_GET_SIZE(last) == size and memcmp(
            PyBytes_AS_STRING(last), base + token.start, size
        ) == 0:
            return self.symbol_text
        self.symbol_bytes = PyBytes_FromStringAndSize(base + token.start, size)
        self.symbol_text = _text(base, token)
        return self.symbol_text

    cdef tuple _scales(self, const char *base, object symbol, list members):
        """The normalizer's _scales over the entries ``members`` (indices; None: all)."""
        cdef Normalizer normalizer = self.normalizer
        cdef long price_dec, size_dec, places
        cdef Py_ssize_t at
        if members is None:
            members = self.all_entries()
        if normalizer.fixed_decimals >= 0:
            price_dec = normalizer.fixed_decimals
        else:
            price_dec = normalizer.price_decimals.get(symbol, 0)
            for entry in members:
                at = self._find(entry, 270)
                if at >= 0:
                    places = _places(base, &self.parser.tokens[at])
                    if places > price_dec:
                        price_dec = places
            normalizer.price_decimals[symbol] = price_dec
        size_dec = normalizer.size_decimals.get(symbol, 0)
        for entry in members:
            at = self._find(entry, 271)
            if at >= 0:
                places = _places(base, &self.parser.tokens[at])
                if places > size_dec:
                    size_dec = places
        normalizer.size_decimals[symbol] = size_dec
        return (price_dec, size_dec)

    cdef list all_entries(self):
        # Small ints are cached objects: this list costs one allocation.
        return list(range(self.count))

    cdef object _scaled(self, const char *base, Py_ssize_t entry, int tag, long decimals):
        """``scale(entry.get(tag, "0"), decimals)`` for plain decimals; None: give up."""
        cdef Py_ssize_t at = self._find(entry, tag)
        if at < 0:
            return 0  # scale("0", d) == 0
        return _scale_bytes(base, &self.parser.tokens[at], decimals)

    cdef object _entry_time(self, const char *base, Py_ssize_t entry, object sending):
        """The normalizer's _time on an entry with 60 or 273: on a dict of the tags it reads."""
        cdef dict fields = {}
        cdef Py_ssize_t at
        for tag in _TIME_TAGS:
            at = self._find(entry, tag)
            if at >= 0:
                fields[self.top_keys[tag]] = _text(base, &self.parser.tokens[at])
        return self.normalizer._time(fields, sending)

    cdef object _int_field(self, const char *base, Py_ssize_t entry, int tag, object default):
        """``int(text) if text and text.isdecimal() else default`` on the entry's ``tag``."""
        cdef Py_ssize_t at = self._find(entry, tag)
        cdef Token *token
        cdef long long value = 0
        cdef Py_ssize_t i
        if at < 0:
            return default
        token = &self.parser.tokens[at]
        if token.end == token.start or token.end - token.start > 18:
            return _int_text(_text(base, token), default)
        for i in range(token.start, token.end):
            if base[i] < 48 or base[i] > 57:
                return _int_text(_text(base, token), default)
            value = value * 10 + (base[i] - 48)
        return value

    # -- X ----------------------------------------------------------------------------------
    cdef object _incremental(self, const char *base, dict top, object ts_recv):
        cdef Normalizer normalizer = self.normalizer
        cdef Py_ssize_t count = self.count, index, last_book = -1
        cdef list symbols, events = []
        cdef dict scales, book_types = normalizer.book_types
        cdef tuple kind, pair
        cdef long price_dec, size_dec
        default_symbol = normalizer._symbol(top, "")
        sending = top.get("52", "")
        message_ts = normalizer._time(top, sending)
        message_seq = _int_text(top.get("34", ""), 0)
        symbols = [self._symbol(base, index, default_symbol) for index in range(count)]
        scales = dict.fromkeys(symbols)
        if len(scales) == 1:
            scales[symbols[0]] = self._scales(base, symbols[0], None)
        else:
            for symbol in list(scales):
                scales[symbol] = self._scales(
                    base, symbol, [i for i in range(count) if symbols[i] == symbol]
                )
        types = [self._get(base, index, 269, "") for index in range(count)]
        for index in range(count):
            if types[index] in book_types:
                last_book = index
        stream = normalizer.stream
        for index in range(count):
            symbol = symbols[index]
            pair = scales[symbol]
            price_dec = pair[0]
            size_dec = pair[1]
            if self._find(index, 273) >= 0 or self._find(index, 60) >= 0:
                ts = self._entry_time(base, index, sending)
            else:
                ts = message_ts
            venue_seq = self._int_field(base, index, 83, message_seq)
            kind_value = book_types.get(types[index])
            if kind_value is None:
                event = self._other(
                    base, index, types[index], symbol, venue_seq, ts, ts_recv, price_dec, size_dec
                )
                if event is None:
                    return None
                if event is not False:
                    events.append(event)
                continue
            kind = kind_value
            action = _BOOK_ACTIONS.get(self._get(base, index, 279, "0"))
            if action is None:
                return None  # the reference raises: let the two-step path do it
            price = self._scaled(base, index, 270, price_dec)
            size = self._scaled(base, index, 271, size_dec)
            if price is None or size is None:
                return None
            events.append(
                BookDelta(
                    stream=stream,
                    symbol=symbol,
                    seq=normalizer._next(),
                    venue_seq=venue_seq,
                    ts_exchange=ts,
                    ts_recv=ts_recv,
                    side=kind[0],
                    price=price,
                    size=size,
                    action=action,
                    level=self._int_field(base, index, 1023, 0),
                    implied=kind[1],
                    batch_end=index == last_book,
                    price_decimals=price_dec,
                    size_decimals=size_dec,
                )
            )
        return events

    cdef object _other(
        self,
        const char *base,
        Py_ssize_t index,
        object entry_type,
        object symbol,
        object venue_seq,
        object ts,
        object ts_recv,
        long price_dec,
        long size_dec,
    ):
        """A trade or statistic; False for types with no event; None: give up (J and rest)."""
        cdef Normalizer normalizer = self.normalizer
        if entry_type == "2":
            price = self._scaled(base, index, 270, price_dec)
            size = self._scaled(base, index, 271, size_dec)
            if price is None or size is None:
                return None
            side = (
                self._get(base, index, 2446, None)
                or self._get(base, index, 5797, None)
                or self._get(base, index, 54, "")
            )
            return Trade(
                stream=normalizer.stream,
                symbol=symbol,
                seq=normalizer._next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                price=price,
                size=size,
                price_decimals=price_dec,
                size_decimals=size_dec,
                side=normalizer.sides.get(side, ""),
                trade_id=self._get(base, index, 1003, None) or self._get(base, index, 278, ""),
            )
        name = _STATISTIC_NAMES.get(entry_type)
        if name is not None:
            if entry_type in _SIZE_STATISTICS:
                value, decimals = self._scaled(base, index, 271, size_dec), size_dec
            else:
                value, decimals = self._scaled(base, index, 270, price_dec), price_dec
            if value is None:
                return None
            return Statistic(
                stream=normalizer.stream,
                symbol=symbol,
                seq=normalizer._next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                name=name,
                value=value,
                decimals=decimals,
            )
        if entry_type == "J":
            return None  # the empty book: the reference's _other builds it
        return False

    # -- W ----------------------------------------------------------------------------------
    cdef object _snapshot(self, const char *base, dict top, object ts_recv):
        cdef Normalizer normalizer = self.normalizer
        cdef Py_ssize_t count = self.count, index
        cdef dict bids = {}, asks = {}, side_levels, book_types = normalizer.book_types
        cdef list others = []
        cdef tuple kind
        cdef long price_dec, size_dec
        symbol = normalizer._symbol(top, "")
        price_dec, size_dec = self._scales(base, symbol, None)
        ts = normalizer._time(top, top.get("52", ""))
        venue_seq = _int_text(top.get("83"), _int_text(top.get("34", ""), 0))
        for index in range(count):
            entry_type = self._get(base, index, 269, "")
            kind_value = book_types.get(entry_type)
            if kind_value is None:
                others.append((index, entry_type))
                continue
            kind = kind_value
            if not kind[1]:  # the snapshot is the outright book; implied levels are not in it
                price = self._scaled(base, index, 270, price_dec)
                size = self._scaled(base, index, 271, size_dec)
                if price is None or size is None:
                    return None
                side_levels = bids if kind[0] == "bid" else asks
                side_levels[price] = side_levels.get(price, 0) + size
        events = [
            BookSnapshot(
                stream=normalizer.stream,
                symbol=symbol,
                seq=normalizer._next(),
                venue_seq=venue_seq,
                ts_exchange=ts,
                ts_recv=ts_recv,
                bids=sorted(bids.items(), reverse=True),
                asks=sorted(asks.items()),
                price_decimals=price_dec,
                size_decimals=size_dec,
            )
        ]
        for index, entry_type in others:
            event = self._other(
                base, index, entry_type, symbol, venue_seq, ts, ts_recv, price_dec, size_dec
            )
            if event is None:
                return None
            if event is not False:
                events.append(event)
        return events


cdef long _places(const char *base, Token *token) noexcept:
    """decimals_of(text) when "." is in it, else 0 (the normalizer's _scales test)."""
    cdef Py_ssize_t i
    for i in range(token.start, token.end):
        if base[i] == 46:
            return token.end - i - 1
    return 0


cdef object _scale_bytes(const char *base, Token *token, long decimals):
    """decimals.scale(text, decimals) for ASCII digits with at most one "."; None for the rest
    (signs, spaces, too many digits, a value that does not fit: the reference decides)."""
    cdef Py_ssize_t i, n = token.end, dot = -1, places, excess
    cdef long long value = 0
    cdef int count = 0
    if decimals < 0 or decimals > 18:
        return None
    for i in range(token.start, n):
        if base[i] == 46 and dot < 0:
            dot = i
        elif base[i] < 48 or base[i] > 57:
            return None
        else:
            count += 1
    if count == 0 or count > 18:
        return None
    places = 0 if dot < 0 else n - dot - 1
    if places > decimals:
        excess = places - decimals
        for i in range(n - excess, n):
            if base[i] != 48:
                return None  # only trailing zeros may be dropped; else the reference raises
        n -= excess
        places = decimals
        count -= excess
    if count + (decimals - places) > 18:
        return None
    for i in range(token.start, n):
        if i != dot:
            value = value * 10 + (base[i] - 48)
    return value * _POW10[decimals - places]
