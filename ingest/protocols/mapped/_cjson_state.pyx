# cython: language_level=3
"""The reference state the compiled mapped decoder shares (``_cjson_decoder``, decision 0116).

The twin reads and writes the reference's own objects, so the two paths can alternate frame by
frame: the Sequencer's seq and the DecoderStats counters at their member slots, and per symbol
its Scales list and its book handler's BookView and SymbolSync, found once by the symbol's bytes.
"""

cimport cython
from cpython.object cimport PyObject
from libc.string cimport memcmp

from ._cjson_tape cimport K_INT, K_STR, Node, tape_k8, text

from types import MemberDescriptorType as _MemberDescriptorType

from ._cjson_tape import Bail


cdef extern from "Python.h":
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
        int flags
    int _T_OBJECT_EX "T_OBJECT_EX"
    int _READONLY "READONLY"

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member


cdef Py_ssize_t member_offset(cls, str name) except -2:
    """The offset of ``cls``'s attribute ``name`` when it is a plain writable object member
    (checked once per type), else -1."""
    descr = getattr(cls, name, None)
    if type(descr) is not _MemberDescriptorType:
        return -1
    cdef PyMemberDef* member = (<PyMemberDescrObject*><PyObject*>descr).d_member
    if member.type != _T_OBJECT_EX or member.flags & _READONLY:
        return -1
    return member.offset


@cython.final
cdef class Slots:
    """Offsets of the hot attributes of the shared state objects."""

    def __init__(self, stats, sequencer):
        self.messages = member_offset(type(stats), "messages")
        self.events = member_offset(type(stats), "events")
        self.ignored = member_offset(type(stats), "ignored")
        self.seq = member_offset(type(sequencer), "seq")


@cython.final
cdef class Sym:
    """One symbol's references into the reference state, looked up once. All of these objects
    are created once per symbol by the reference code and only ever mutated in place (the
    Scales list by learn(), the book view's dicts and lists by set/truncate/clear), so holding
    them is the same as looking them up again."""

    cdef int bind(self, state) except -1:
        book, sync = state
        self.book = book
        self.sync = sync
        self.bid_levels = book.bids.levels
        self.bid_keys = book.bids.keys
        self.ask_levels = book.asks.levels
        self.ask_keys = book.asks.keys
        self.ids = book.ids
        return 0


@cython.final
cdef class SymbolCache:
    """Symbols repeat on every message: find the entry by the symbol's bytes, no str made."""

    def __init__(self):
        self.items = []
        self.by_name = {}

    cdef Sym at(self, Tape t, int i):
        cdef Node* node = &t.nodes[i]
        cdef Py_ssize_t length = node.end - node.start
        cdef const char* start = <const char*>(t.s + node.start)
        cdef Sym item
        if node.kind != K_STR and node.kind != K_INT:
            raise Bail()  # compile_symbol raises bad_symbol on anything else
        cdef uint64_t key8 = tape_k8(t, node.start, <int>length)
        # Entries here were all made from tape text, so they are ASCII and their data is the
        # bytes compared.
        for item in self.items:
            if (item.k8 == key8 and PyUnicode_GET_LENGTH(item.symbol) == length
                    and (length <= 8 or memcmp(PyUnicode_DATA(item.symbol), start, length) == 0)):
                return item
        item = self.named(text(t, i))
        item.k8 = key8
        if len(self.items) >= 64:
            self.items = []
        self.items.append(item)
        return item

    cdef Sym named(self, str symbol):
        cdef Sym item = self.by_name.get(symbol)
        if item is None:
            if len(self.by_name) >= 100_000:
                self.by_name = {}
            item = Sym()
            item.symbol = symbol
            self.by_name[symbol] = item
        return item

