# cython: language_level=3, auto_pickle=False, autotestdict=False
"""Compiled twin of ``FixDecoder.decode`` (:mod:`ingest.protocols.fix.plugin`; decisions 0112,
0114): bytes of a W or X message straight to events, without the FixMessage in between.

The two-step path (compiled parse → fields dicts → compiled normalize) spends most of its time
making ``str`` values and dicts that the normalizer reads once. Here the compiled parser's
tokens are walked with its own tables, each NoMDEntries entry is kept as a range of tokens
(:class:`_Tokens`), and the normalizer's own W/X steps (``MarketData`` in ``_centries.pyx``, the
same code the compiled normalizer runs on dicts) read their values from those tokens:

- an entry's value for a tag is what the reference's entry dict would hold: the first
  occurrence for a member of the group (a repeat is error 15 and is not stored), the last one for
  a tag outside the group (373=2, stored over);
- top-level values go into a small dict of only the tags the normalizer reads (first occurrence
  wins, as in ``fields``), which the steps read as they read ``fields``;
- prices and sizes are scaled from the bytes for plain ASCII decimals.

Exact by construction: whenever the message is not plain — anything the two-step path would
treat specially (another message type, a nested group, a second NoMDEntries, a DecodeError on
the way, a value that is not a plain decimal, an entry type whose event the reference builds
elsewhere) — this path gives up, puts the sequencer back, and the two-step path decodes the
message (its result is the reference's). The only state it writes before giving up is the
per-symbol scale, which the two-step path writes again to the same value (a max over the same
strings).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memset

from ingest.protocols.fix._centries cimport (
    Entries,
    MarketData,
    ascii_digits,
    int_text,
    places_of,
    scale_digits,
)
from ingest.protocols.fix._cnormalize cimport Normalizer
from ingest.protocols.fix._cparser cimport Parser, Token, _Group, _MessagePlan

from sys import intern as _intern

from ingest.protocols import base as _base
from ingest.protocols.fix import venues as _venues

cdef extern from "Python.h":
    object PyUnicode_DecodeLatin1(const char *s, Py_ssize_t size, const char *errors)

cdef object _DecodeError = _base.DecodeError
cdef dict _SYMBOL_TAGS_BY_EXCHANGE = _venues.SYMBOL_TAGS_BY_EXCHANGE
cdef tuple _DEFAULT_SYMBOL_TAGS = _venues.DEFAULT_SYMBOL_TAGS
# Top-level tags the normalizer reads for W and X (symbol tags are added per decoder).
cdef tuple _TOP_TAGS = (34, 48, 52, 60, 83, 207, 272, 273)
# Entry tags _optional_time reads when an entry carries its own time (60 or 273), and their keys.
cdef int _TIME_TAGS[3]
_TIME_TAGS[:] = [60, 273, 272]
cdef tuple _TIME_KEYS = (_intern("60"), _intern("273"), _intern("272"))

cdef struct Range:
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


cdef class _Tokens(Entries):
    """NoMDEntries of the message being decoded, as ranges of the parser's tokens."""

    cdef Parser parser
    cdef MarketData normalizer
    cdef const char *base  # the message's bytes, while it is decoded
    cdef Range *ranges
    cdef Py_ssize_t capacity
    cdef _Group group  # its NoMDEntries group
    cdef tuple last_tags  # the symbol tags of the last entry, and their numbers
    cdef int *last_numbers
    cdef Py_ssize_t last_count
    cdef dict tag_numbers  # symbol-tag string -> tag number (-1: never on the wire here)
    cdef object symbol_text  # the last symbol made, reused while the bytes are the same
    cdef bytes symbol_bytes

    def __cinit__(self) -> None:
        self.capacity = 64
        self.ranges = <Range *> malloc(self.capacity * sizeof(Range))
        if self.ranges == NULL:
            raise MemoryError()

    def __dealloc__(self) -> None:
        free(self.ranges)
        free(self.last_numbers)

    def __init__(self, parser: Parser, normalizer: MarketData) -> None:
        self.parser = parser
        self.normalizer = normalizer
        self.tag_numbers = {}
        for symbol_tags in (normalizer.symbol_tags, _DEFAULT_SYMBOL_TAGS,
                            *_SYMBOL_TAGS_BY_EXCHANGE.values()):
            for text in symbol_tags:
                self.tag_numbers[text] = _tag_number(text)
        self.last_tags = None
        self.last_count = 0
        self.symbol_text = ""
        self.symbol_bytes = b""

    # -- structure --------------------------------------------------------------------------
    cdef Py_ssize_t walk(self, Py_ssize_t count, Py_ssize_t index, Token *count_token) except -2:
        """The parser's group walk for NoMDEntries from ``index``, keeping entries as token
        ranges; returns the index after the group, -1 to give up."""
        cdef const char *base = self.base
        cdef Token *tokens = self.parser.tokens
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
            tag = tokens[index].tag
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
            self.ranges[self.count - 1].stop = index
        return index

    cdef int _open(self, Py_ssize_t index, bint close) except -1:
        cdef Range *grown
        if close:
            self.ranges[self.count - 1].stop = index
        if self.count == self.capacity:
            grown = <Range *> realloc(self.ranges, 2 * self.capacity * sizeof(Range))
            if grown == NULL:
                raise MemoryError()
            self.ranges = grown
            self.capacity *= 2
        self.ranges[self.count].first = index
        self.count += 1
        return 0

    cdef Py_ssize_t _find(self, Py_ssize_t entry, int tag) noexcept:
        """Token index of ``tag`` in the entry as its dict would hold it, -1 when absent."""
        cdef Range *range_ = &self.ranges[entry]
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

    # -- Entries, on the tokens ----------------------------------------------------------------
    cdef object get(self, Py_ssize_t entry, int tag, str key, object default):
        cdef Py_ssize_t at = self._find(entry, tag)
        return default if at < 0 else _text(self.base, &self.parser.tokens[at])

    cdef bint timed(self, Py_ssize_t entry) except -1:
        return self._find(entry, 273) >= 0 or self._find(entry, 60) >= 0

    cdef object time(self, Py_ssize_t entry, object sending):
        """The normalizer's _optional_time on a dict of the entry's tags it reads."""
        cdef dict fields = {}
        cdef Py_ssize_t at
        cdef int i
        for i in range(3):
            at = self._find(entry, _TIME_TAGS[i])
            if at >= 0:
                fields[_TIME_KEYS[i]] = _text(self.base, &self.parser.tokens[at])
        return self.normalizer.optional_time(fields, sending)

    cdef object symbol(self, Py_ssize_t entry, object default):
        """The normalizer's _symbol on an entry, without a str for each entry's symbol."""
        cdef MarketData normalizer = self.normalizer
        cdef Py_ssize_t at, i
        cdef Token *token
        cdef tuple tags
        if normalizer.security_ids:
            at = self._find(entry, 48)
            if at >= 0:
                known = normalizer.security_ids.get(_text(self.base, &self.parser.tokens[at]))
                if known is not None:
                    return known
        if normalizer.symbol_tags:
            tags = normalizer.symbol_tags
        else:
            tags = normalizer.tags_for(self.get(entry, 207, None, None))
        if tags is not self.last_tags:
            self._number(tags)
        for i in range(self.last_count):
            at = self._find(entry, self.last_numbers[i])
            if at < 0:
                continue
            token = &self.parser.tokens[at]
            if token.end == token.start:
                continue  # empty: the next tag
            return self._symbol_text(token)
        return default

    cdef int _number(self, tuple tags) except -1:
        """The tag numbers of ``tags`` into last_numbers (-1: never on the wire here)."""
        cdef Py_ssize_t i
        cdef int *numbers = <int *> realloc(self.last_numbers, (len(tags) + 1) * sizeof(int))
        if numbers == NULL:
            raise MemoryError()
        self.last_numbers = numbers
        for i, text in enumerate(tags):
            number = self.tag_numbers.get(text)
            numbers[i] = -1 if number is None else <int> number
        self.last_count = len(tags)
        self.last_tags = tags
        return 0

    cdef object _symbol_text(self, Token *token):
        # Consecutive entries name the same instrument: one str for them.
        cdef Py_ssize_t size = token.end - token.start
        cdef bytes last = self.symbol_bytes
        if PyBytes_GET_SIZE(last) == size and memcmp(
            PyBytes_AS_STRING(last), self.base + token.start, size
        ) == 0:
            return self.symbol_text
        self.symbol_bytes = PyBytes_FromStringAndSize(self.base + token.start, size)
        self.symbol_text = _text(self.base, token)
        return self.symbol_text

    cdef bint places(self, Py_ssize_t entry, int tag, str key, long *out) except -1:
        cdef Py_ssize_t at = self._find(entry, tag), places
        cdef Token *token
        if at < 0:
            return False
        token = &self.parser.tokens[at]
        places = places_of(<const unsigned char *> self.base, token.start, token.end)
        if places < 0:
            return False
        out[0] = places
        return True

    cdef object scaled(self, Py_ssize_t entry, int tag, str key, long decimals):
        """Plain decimals from the bytes; None (give up) for the rest, which the reference
        scales or rejects."""
        cdef Py_ssize_t at = self._find(entry, tag)
        cdef Token *token
        cdef long long value = 0
        if at < 0:
            return 0  # scale("0", d) == 0
        token = &self.parser.tokens[at]
        if scale_digits(<const unsigned char *> self.base, token.start, token.end, decimals,
                        &value):
            return value
        return None

    cdef object venue_seq(self, Py_ssize_t entry, object default):
        return self._int(entry, 83, default)

    cdef object level(self, Py_ssize_t entry):
        return self._int(entry, 1023, 0)

    cdef object _int(self, Py_ssize_t entry, int tag, object default):
        """``decimals.int_or(text, default, str(tag))`` on the entry's ``tag``."""
        cdef Py_ssize_t at = self._find(entry, tag)
        cdef Token *token
        cdef long long value = 0
        if at < 0:
            return default
        token = &self.parser.tokens[at]
        if token.end > token.start and ascii_digits(
            <const unsigned char *> self.base, token.start, token.end, &value
        ):
            return value
        return int_text(_text(self.base, token), default, str(tag))

    cdef object other(self, Py_ssize_t entry, object entry_type, object symbol, object venue_seq,
                      object ts, object ts_recv, long price_dec, long size_dec):
        return None if entry_type == "J" else False  # the empty book: the reference builds it


cdef class Decoder:
    """``FixDecoder.decode`` compiled, for one decoder (its parser, normalizer and sequencer)."""

    cdef object reference
    cdef Parser parser
    cdef Normalizer normalizer
    cdef object sequencer
    cdef bint fused  # the sequencer can be put back by assignment (a plain Sequencer)
    cdef _Tokens tokens
    cdef dict top_keys  # tag -> interned key, for the top-level tags read
    cdef unsigned char top_bits[8192]  # the same tags as a bitset (most fields are not read)
    # Messages decoded straight from the bytes (the rest took the two-step path): for tests.
    cdef readonly long long fused_messages

    def __init__(self, reference: object, parser: Parser, normalizer: Normalizer) -> None:
        self.reference = reference
        self.parser = parser
        self.normalizer = normalizer
        self.sequencer = normalizer.sequencer
        self.fused = normalizer.plain_sequencer
        self.tokens = _Tokens(parser, normalizer)
        tags = set(_TOP_TAGS)
        for number in self.tokens.tag_numbers.values():
            if number >= 0:
                tags.add(number)
        self.top_keys = {tag: _intern(str(tag)) for tag in tags}
        memset(self.top_bits, 0, sizeof(self.top_bits))
        for tag in tags:
            self.top_bits[<int> tag >> 3] |= <unsigned char> (1 << (<int> tag & 7))

    def decode(self, data: object, ts_recv: object) -> object:
        """Events of one framed message, ``seq`` assigned; raises DecodeError only."""
        cdef object start = self.sequencer.seq
        cdef object events
        cdef list journal = self.normalizer.journal
        cdef list warnings = self.normalizer.warnings
        try:
            if warnings:
                del warnings[:]
            if self.fused and type(data) is bytes:
                if journal:
                    del journal[:]
                try:
                    events = self._fused(<bytes> data, ts_recv)
                except _DecodeError:
                    events = None  # the two-step path raises it, or not, as the reference does
                if events is not None:
                    self.fused_messages += 1
                    return events
                self.sequencer.seq = start  # it gave up: the two-step path numbers again
                if journal:
                    self.normalizer.undo(journal)  # ... from the state before the message
                if warnings:
                    del warnings[:]  # ... and writes the warnings again
            return self.normalizer.normalize(self.parser.parse(data), ts_recv)
        except _DecodeError:
            self.sequencer.seq = start  # no seq numbers for events that were never emitted
            del warnings[:]
            raise

    cdef object _fused(self, bytes data, object ts_recv):
        """The events, or None when the two-step path must decode the message."""
        cdef Parser parser = self.parser
        cdef _Tokens tokens = self.tokens
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
        tokens.base = base
        tokens.count = 0
        while index < count:
            token = &parser.tokens[index]
            index += 1
            tag = token.tag
            if _has(plan.group_bits, tag):
                if tag != 268 or seen_entries:
                    return None  # another group, or NoMDEntries twice (the last one wins)
                seen_entries = True
                tokens.group = <_Group> plan.groups[tag]
                index = tokens.walk(count, index, token)
                if index < 0:
                    return None
            elif tag == 268:
                return None  # NoMDEntries not a group here: the reference fails on it
            elif _has(self.top_bits, tag):
                key = self.top_keys[tag]
                if key not in top:
                    top[key] = _text(base, token)
        if msg_type == "X":
            return self.normalizer.incremental(top, tokens, ts_recv)
        return self.normalizer.snapshot(top, tokens, ts_recv)
