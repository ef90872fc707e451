# cython: language_level=3, auto_pickle=False, autotestdict=False
"""Compiled twin of :mod:`ingest.protocols.fix.parser` (docs/decisions/0112, 0114).

:class:`Parser` turns the bytes of one message into the same :class:`FixMessage` as the
pure-Python ``FixParser`` (same ``fields`` dict of ``str`` → ``str`` / entry lists, same
``errors``), in two C passes over the bytes:

1. tokenize: each ``tag=value`` field becomes (tag as a C int, value offsets); nothing is
   allocated;
2. structure: BodyLength/CheckSum checks on the bytes, then the fields dict and the repeating
   groups from per-message-type tables (bitsets of member / stop / nested tags), built once from
   the dictionary's ``GroupDef`` objects.

Why this is exact by construction: the C path only ever *returns* a message. Whenever the input
is anything but a well-formed message of canonical tags — a tag that is not plain ASCII digits
without a leading zero, a tag >= 65536, a number too long for a C integer, or any condition under
which the reference raises ``DecodeError`` — it hands the same bytes to the reference
(``FixParser.parse_python``), which returns or raises exactly what the pure-Python path does.
Canonical tags make int equality the same as the reference's string equality, so membership
tests on bitsets answer what ``tag in frozenset_of_str`` answers.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Contains, PyDict_GetItem, PyDict_SetItem
from cpython.list cimport PyList_Append
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memset

from ingest.protocols.fix.message import FieldError, FixMessage

cdef extern from "Python.h":
    object PyUnicode_DecodeLatin1(const char *s, Py_ssize_t size, const char *errors)
    void PyUnicode_InternInPlace(PyObject **string)
    object PyUnicode_FromFormat(const char *format, ...)

# TAG_LIMIT, BITSET_BYTES, MAX_GROUP_DEPTH, STACK_TOKENS, Token and the classes' attributes are
# declared in _cparser.pxd (the fused decoder, _cplugin.pyx, walks the same tokens and tables).

# The key strings of the fields dicts, one interned str per tag, made once per process: the
# normalizer's literal keys ("268") are the same objects, so dict lookups hit on identity.
cdef PyObject *_KEYS[TAG_LIMIT]
memset(_KEYS, 0, sizeof(_KEYS))


cdef inline object _key(int tag):
    cdef PyObject *key = _KEYS[tag]
    cdef object text
    if key == NULL:
        text = PyUnicode_FromFormat("%d", tag)
        key = <PyObject *> text
        Py_INCREF(text)  # owned by _KEYS for the life of the process
        PyUnicode_InternInPlace(&key)
        _KEYS[tag] = key
    return <object> key


cdef inline bint _has(const unsigned char *bits, int tag) noexcept nogil:
    return (bits[tag >> 3] >> (tag & 7)) & 1


cdef inline void _add(unsigned char *bits, int tag) noexcept nogil:
    bits[tag >> 3] |= <unsigned char> (1 << (tag & 7))


cdef int _canonical(object text) except -2:
    """The tag number of ``text`` when its string form is canonical, else -1 (never matches a
    wire tag the C path accepts)."""
    cdef Py_ssize_t n, i
    cdef int value = 0, digit
    cdef str string
    if not isinstance(text, str):
        return -1
    string = <str> text
    n = len(string)
    if n == 0 or n > 5 or (n > 1 and string[0] == "0"):
        return -1
    for i in range(n):
        digit = <int> (<Py_UCS4> string[i]) - 48
        if digit < 0 or digit > 9:
            return -1
        value = value * 10 + digit
    return value if value < TAG_LIMIT else -1


cdef void _fill(unsigned char *bits, object tags) except *:
    cdef int tag
    for text in tags:
        tag = _canonical(text)
        if tag >= 0:
            _add(bits, tag)


cdef class _Group:
    """One repeating group in one context (message type and enclosing groups)."""

    def __cinit__(self) -> None:
        self.members = <unsigned char *> calloc(BITSET_BYTES, 1)
        self.stops = <unsigned char *> calloc(BITSET_BYTES, 1)
        self.nested_bits = <unsigned char *> calloc(BITSET_BYTES, 1)
        if self.members == NULL or self.stops == NULL or self.nested_bits == NULL:
            raise MemoryError()
        self.nested = {}

    def __dealloc__(self) -> None:
        free(self.members)
        free(self.stops)
        free(self.nested_bits)

    cdef _Group child(self, int tag):
        """The nested group counted by ``tag`` (a member with its bit in nested_bits)."""
        cdef _Group group = self.nested.get(tag)
        cdef _Group made
        if group is not None:
            return group
        made = _Group()
        made.setup(self.definition.groups[_key(tag)], self.depth + 1)
        # The reference passes (members, *stops) down: a nested group stops at the enclosing
        # entry's members and at everything its enclosing group stops at.
        for i in range(BITSET_BYTES):
            made.stops[i] = self.members[i] | self.stops[i]
        made.stop_all = self.stop_all
        self.nested[tag] = made
        return made

    cdef setup(self, object definition, int depth):
        self.definition = definition
        self.count_tag = definition.count_tag
        self.delimiter_text = definition.delimiter
        self.delimiter = _canonical(definition.delimiter)
        self.depth = depth
        _fill(self.members, definition.members)
        _fill(self.nested_bits, definition.groups)


cdef class _MessagePlan:
    """A message type's top-level groups and the stops of their entries."""

    def __cinit__(self) -> None:
        self.group_bits = <unsigned char *> calloc(BITSET_BYTES, 1)
        if self.group_bits == NULL:
            raise MemoryError()
        self.groups = {}

    def __dealloc__(self) -> None:
        free(self.group_bits)


cdef _MessagePlan _plan(object definition, object header_tags):
    cdef _MessagePlan plan = _MessagePlan()
    cdef _Group group
    cdef int tag
    cdef unsigned char *stops = <unsigned char *> calloc(BITSET_BYTES, 1)
    cdef bint stop_all = False
    if stops == NULL:
        raise MemoryError()
    try:
        if definition is None:  # unknown type, accepted: no groups, stops at the header
            return plan
        if definition.strict_groups:
            stop_all = True
        else:
            _fill(stops, definition.members)
            _fill(stops, header_tags)
        for text, group_def in definition.groups.items():
            tag = _canonical(text)
            if tag < 0:
                continue  # a non-canonical count tag never matches a canonical wire tag
            group = _Group()
            group.setup(group_def, 0)
            for i in range(BITSET_BYTES):
                group.stops[i] = stops[i]
            group.stop_all = stop_all
            plan.groups[tag] = group
            _add(plan.group_bits, tag)
        return plan
    finally:
        free(stops)


cdef class Parser:
    """The compiled ``FixParser.parse`` for one ``FixParser`` (its dictionary and options)."""

    def __cinit__(self) -> None:
        self.capacity = STACK_TOKENS
        self.tokens = <Token *> malloc(self.capacity * sizeof(Token))
        if self.tokens == NULL:
            raise MemoryError()

    def __dealloc__(self) -> None:
        free(self.tokens)

    def __init__(self, reference: object) -> None:
        self.reference = reference
        self.validate_checksum = reference.validate_checksum
        self.validate_body_length = reference.validate_body_length
        self.reject_unknown = reference.reject_unknown_msg_type
        self.messages = reference.dictionary.messages
        self.header_tags = reference.dictionary.header_tags
        self.plans = {}

    def parse(self, data: object) -> object:
        """One message (trailing newline allowed); raises DecodeError only."""
        cdef object message
        if type(data) is bytes:
            message = self._parse(<bytes> data)
            if message is not None:
                return message
        return self.reference.parse_python(data)

    cdef object _parse(self, bytes data):
        """The message, or None when the reference must decide (odd input or an error)."""
        cdef Py_ssize_t count = self._scan(data)
        if count < 0:
            return None
        fields = {}
        errors = []
        if not self._structure(PyBytes_AS_STRING(data), count, self.plan, fields, errors):
            return None
        return FixMessage(self.msg_type, fields, self.raw, errors)

    cdef Py_ssize_t _scan(self, bytes data) except -2:
        """Checks and tokens of one message: the token count (msg_type, plan and raw set), or
        -1 when the reference must decide."""
        cdef const char *base = PyBytes_AS_STRING(data)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
        cdef Py_ssize_t i, at, body_end, type_at, type_end
        cdef long long declared
        cdef unsigned int total
        cdef object raw = data
        if n and (base[n - 1] == 10 or base[n - 1] == 13):
            while n and (base[n - 1] == 10 or base[n - 1] == 13):
                n -= 1
            raw = data[:n]
        if n < 5 or base[n - 1] != 1:
            return -1

        # CheckSum: the last "\x0110=" (rfind), three ASCII digits up to the final SOH.
        at = -1
        i = n - 4
        while i >= 0:
            if base[i] == 1 and base[i + 1] == 49 and base[i + 2] == 48 and base[i + 3] == 61:
                at = i
                break
            i -= 1
        if at < 0:
            if base[0] == 56 and base[1] == 61:  # "8=" without a trailer: truncated
                return -1
            body_end = n
        else:
            if n - 1 - (at + 4) != 3:
                return -1
            declared = 0
            for i in range(at + 4, n - 1):
                if base[i] < 48 or base[i] > 57:
                    return -1
                declared = declared * 10 + (base[i] - 48)
            if self.validate_checksum:
                total = 0
                for i in range(at + 1):
                    total += <unsigned char> base[i]
                if <long long> (total & 0xFF) != declared:
                    return -1
            body_end = at + 1

        if self.validate_body_length and not _body_length_ok(base, n, body_end):
            return -1

        # MsgType: after the first "\x0135=", or at the very start.
        type_at = _find(base, 0, n, b"\x0135=", 4)
        if type_at < 0:
            if not (base[0] == 51 and base[1] == 53 and base[2] == 61):
                return -1
            type_at = -1
        type_end = type_at + 4
        while base[type_end] != 1:  # found: the message ends with SOH
            type_end += 1
        msg_type = PyUnicode_DecodeLatin1(base + type_at + 4, type_end - type_at - 4, NULL)
        cdef _MessagePlan plan = self.plans.get(msg_type)
        if plan is None:
            definition = self.messages.get(msg_type)
            if definition is None and (self.reject_unknown or not msg_type):
                return -1
            plan = _plan(definition, self.header_tags)
            self.plans[msg_type] = plan

        self.msg_type = msg_type
        self.plan = plan
        self.raw = raw
        return self._tokenize(base, n - 1)

    cdef Py_ssize_t _tokenize(self, const char *base, Py_ssize_t stop) except -2:
        """Fields of ``base[:stop]`` (split on SOH) into self.tokens; -1: not canonical."""
        cdef Py_ssize_t i = 0, count = 0, start
        cdef int tag
        cdef unsigned char c
        cdef Token *token
        while True:
            if count == self.capacity:
                self._grow()
            start = i
            tag = 0
            c = base[i] if i < stop else 1
            if c == 48:  # a leading zero: "0" alone is canonical, "01" is not
                i += 1
                c = base[i] if i < stop else 1
                if c != 61:
                    return -1
            else:
                while 48 <= c <= 57:
                    tag = tag * 10 + (c - 48)
                    if tag >= TAG_LIMIT:
                        return -1
                    i += 1
                    c = base[i] if i < stop else 1
                if c != 61 or i == start:
                    return -1
            i += 1  # past "="
            token = &self.tokens[count]
            token.tag = tag
            token.start = i
            while i < stop and base[i] != 1:
                i += 1
            token.end = i
            count += 1
            if i >= stop:
                return count
            i += 1  # past SOH

    cdef int _grow(self) except -1:
        cdef Token *grown = <Token *> realloc(self.tokens, 2 * self.capacity * sizeof(Token))
        if grown == NULL:
            raise MemoryError()
        self.tokens = grown
        self.capacity *= 2
        return 0

    cdef bint _structure(
        self, const char *base, Py_ssize_t count, _MessagePlan plan, dict fields, list errors
    ) except -1:
        """The reference's top-level loop; False: the reference must decide."""
        cdef Py_ssize_t index = 0
        cdef Token *token
        cdef _Group group
        while index < count:
            token = &self.tokens[index]
            index += 1
            key = _key(token.tag)
            if _has(plan.group_bits, token.tag):
                group = <_Group> plan.groups[token.tag]
                index = self._group(base, count, index, group, token, fields, key, errors)
                if index < 0:
                    return False
            elif PyDict_Contains(fields, key):
                errors.append(FieldError(key, 13, "tag appears more than once"))
            else:
                PyDict_SetItem(fields, key, _value(base, token))
        return True

    cdef Py_ssize_t _group(
        self,
        const char *base,
        Py_ssize_t count,
        Py_ssize_t index,
        _Group group,
        Token *count_token,
        dict owner,
        object owner_key,
        list errors,
    ) except -2:
        """The reference's _parse_group: stores the entries under ``owner[owner_key]``, returns
        the index of the first token after the group (-1: the reference must decide)."""
        cdef long long expected = 0
        cdef Py_ssize_t i, digits = 0
        cdef int delimiter = group.delimiter
        cdef int tag
        cdef Token *token
        cdef dict entry = None
        cdef list entries = []
        for i in range(count_token.start, count_token.end):
            if base[i] < 48 or base[i] > 57:
                return -1  # NumInGroup not a number: the reference raises
            if digits or base[i] != 48:
                digits += 1
            expected = expected * 10 + (base[i] - 48)
        if count_token.end == count_token.start or digits > 18:
            return -1
        owner[owner_key] = entries
        if expected == 0:
            return index
        if group.depth > MAX_GROUP_DEPTH:
            return -1
        delimiter_text = group.delimiter_text
        while index < count:
            token = &self.tokens[index]
            tag = token.tag
            if tag == delimiter:
                entry = {_key(tag): _value(base, token)}
                entries.append(entry)
            elif not _has(group.members, tag):
                if entry is None or group.stop_all or _has(group.stops, tag):
                    break
                key = _key(tag)
                errors.append(
                    FieldError(key, 2, f"{key} not defined in group {group.count_tag}")
                )
                PyDict_SetItem(entry, key, _value(base, token))
            elif entry is None:
                # Venues that omit the dictionary's first field start every entry with the
                # same other field: it becomes the delimiter (the reference's 373=15 note).
                key = _key(tag)
                errors.append(
                    FieldError(
                        key,
                        15,
                        f"group {group.count_tag} starts with {key}, not {delimiter_text}",
                    )
                )
                delimiter = tag
                delimiter_text = key
                entry = {key: _value(base, token)}
                entries.append(entry)
            elif _has(group.nested_bits, tag):
                index = self._group(
                    base, count, index + 1, group.child(tag), token, entry, _key(tag), errors
                )
                if index < 0:
                    return -1
                continue
            else:
                key = _key(tag)
                if PyDict_Contains(entry, key):
                    errors.append(
                        FieldError(key, 15, f"{key} repeated inside one {group.count_tag} entry")
                    )
                else:
                    PyDict_SetItem(entry, key, _value(base, token))
            index += 1
        if len(entries) != expected:
            errors.append(
                FieldError(
                    group.count_tag,
                    16,
                    f"NumInGroup {expected}, found {len(entries)} entries",
                )
            )
        return index


cdef inline object _value(const char *base, Token *token):
    return PyUnicode_DecodeLatin1(base + token.start, token.end - token.start, NULL)


cdef Py_ssize_t _find(
    const char *base, Py_ssize_t start, Py_ssize_t stop, const char *needle, Py_ssize_t size
) noexcept nogil:
    """str.find(needle, start, stop) on bytes: the whole needle must fit before ``stop``."""
    cdef Py_ssize_t i
    for i in range(start, stop - size + 1):
        if base[i] == needle[0] and memcmp(base + i, needle, size) == 0:
            return i
    return -1


cdef bint _body_length_ok(const char *base, Py_ssize_t n, Py_ssize_t body_end) noexcept nogil:
    """The reference's _check_body_length without raising: False when it would raise."""
    cdef Py_ssize_t at, end, i, digits = 0
    cdef long long declared = 0
    if base[0] == 56 and base[1] == 61:  # "8="
        at = _find(base, 0, n, b"\x01", 1) + 1
        if not (at + 1 < n and base[at] == 57 and base[at + 1] == 61):
            return False
    elif base[0] == 57 and base[1] == 61:  # "9="
        at = 0
    else:
        # History files start at ApplVerID (1128=): BodyLength, when present, precedes 35.
        end = _find(base, 0, n, b"\x0135=", 4)
        at = _find(base, 0, end if end > 0 else 0, b"\x019=", 3) + 1
        if at == 0:
            return True
    end = _find(base, at, n, b"\x01", 1)
    if end <= at + 2:
        return False  # empty BodyLength
    for i in range(at + 2, end):
        if base[i] < 48 or base[i] > 57:
            return False
        if digits or base[i] != 48:
            digits += 1
        declared = declared * 10 + (base[i] - 48)
    if digits > 18:
        return False
    return declared == body_end - end - 1
