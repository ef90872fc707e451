# The compiled message handlers of the mapped decoder (_cjson_messages.pyx): the base every
# handler shares (also the book's, _cjson_book.pyx), and the quote and trade handlers.
from libc.stdint cimport int64_t

from ._cjson_numbers cimport Ints, MessageScales
from ._cjson_plan cimport CField, CInt, CPath, CTime
from ._cjson_state cimport Slots, Sym, SymbolCache
from ._cjson_tape cimport Tape


cdef class CHandler:
    cdef object ctx, scales_by, scales, sequencer, stats
    cdef str stream
    cdef CPath root
    cdef CPath rows    # None: the message is one row
    cdef object reference  # the reference handler (rows_from takes over a message's rows)
    cdef CField symbol
    cdef CTime ts
    cdef CInt vseq
    cdef SymbolCache symbols
    cdef Slots slots
    cdef Ints ints
    cdef MessageScales decimals  # the message being decoded's (see scales_of)
    cdef bint scaled

    cdef int body_of(self, Tape t, int frame) except -1
    cdef Sym sym_of(self, Tape t, int body)
    cdef list decimals_of(self, Sym sym)
    cdef MessageScales scales_of(self, Tape t, Sym sym, int price, int price2, int size,
                                 int size2)
    cdef int64_t next_seq(self) except? -1
    cdef object commit(self, int64_t seq)
    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1
    cdef int row(self, Tape t, int body, object ts_recv, list out) except -1
