# Declarations of the compiled FIX parser (_cparser.pyx), shared with the fused decoder
# (_cplugin.pyx), which walks the same tokens with the same per-message-type tables.

cdef enum:
    # Tags are looked up in bitsets of this many bits; a larger tag sends the message to the
    # reference (FIX tags stop well below: user-defined tags end at 39999).
    TAG_LIMIT = 65536
    BITSET_BYTES = 8192  # TAG_LIMIT bits
    MAX_GROUP_DEPTH = 16  # parser._MAX_GROUP_DEPTH
    STACK_TOKENS = 256  # initial token buffer; it doubles for longer messages

cdef struct Token:
    int tag
    Py_ssize_t start  # value start (byte offset)
    Py_ssize_t end  # value end, exclusive


cdef class _Group:
    cdef object definition  # GroupDef
    cdef object count_tag  # str, for errors
    cdef int delimiter
    cdef object delimiter_text
    cdef unsigned char *members
    cdef unsigned char *stops  # union of every enclosing stop set
    cdef unsigned char *nested_bits
    cdef bint stop_all
    cdef dict nested  # tag int -> _Group, made on first use
    cdef int depth

    cdef _Group child(self, int tag)
    cdef setup(self, object definition, int depth)


cdef class _MessagePlan:
    cdef unsigned char *group_bits
    cdef dict groups  # tag int -> _Group


cdef class Parser:
    cdef object reference  # the FixParser: its options, and parse_python for the odd cases
    cdef bint validate_checksum
    cdef bint validate_body_length
    cdef bint reject_unknown
    cdef dict messages
    cdef object header_tags
    cdef dict plans  # msg_type str -> _MessagePlan
    cdef Token *tokens
    cdef Py_ssize_t capacity
    # Set by _scan for the message just scanned:
    cdef object msg_type
    cdef _MessagePlan plan
    cdef object raw

    cdef object _parse(self, bytes data)
    cdef Py_ssize_t _scan(self, bytes data) except -2
    cdef Py_ssize_t _tokenize(self, const char *base, Py_ssize_t stop) except -2
    cdef int _grow(self) except -1
    cdef bint _structure(
        self, const char *base, Py_ssize_t count, _MessagePlan plan, dict fields, list errors
    ) except -1
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
    ) except -2
