# cython: language_level=3
"""The compiled message handlers of the mapped decoder (``_cjson_decoder``, decision 0116).

``CHandler`` is what every compiled handler holds and does (the book's too, ``_cjson_book``):
root, symbol, times, venue seq, the message's decimals and the sequencer. ``CQuote`` and
``CTrade`` are messages.QuoteHandler and TradeHandler on the tape. ``run`` gives the message's
rows (one, or one per element of its ``rows`` array, decision 0127) to ``row``; each ``row``
reads and checks the whole row first and changes state only when nothing can fail any more;
anything the reference would treat otherwise raises Bail before that. ``$`` paths start at
``Tape.frame``, which ``run`` sets to the message.
"""

cimport cython
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLongLong

from ._cjson_events cimport quote, trade
from ._cjson_numbers cimport int_of, scale64
from ._cjson_plan cimport simple_field
from ._cjson_state cimport slot_get, slot_set
from ._cjson_tape cimport K_ARR, K_STR, decimals_of

from ._cjson_plan import Unsupported
from ._cjson_tape import Bail
from .paths import MISSING

_TRADE_SIDES = frozenset({"buy", "sell", ""})


cdef class CHandler:
    """What every compiled handler holds: the reference context, root, symbol, ts, venue seq."""

    def __init__(self, ctx, spec):
        self.ctx = ctx
        self.stream = ctx.stream
        self.scales = ctx.scales
        self.scales_by = ctx.scales._by_symbol
        self.scaled = ctx.scales.scaled
        self.sequencer = ctx.sequencer
        self.stats = ctx.stats
        self.slots = Slots(ctx.stats, ctx.sequencer)
        self.root = CPath(spec.root)
        if self.root.ends_slice:
            raise Unsupported("root: a slice")
        rows = getattr(spec, "rows", "")
        self.rows = CPath(rows) if rows else None
        if self.rows is not None and self.rows.ends_slice:
            raise Unsupported("rows: a slice")
        self.symbol = CField(spec.symbol, "symbol")
        self.ts = CTime(spec.ts_exchange)
        self.vseq = CInt(spec.venue_seq, "venue_seq")
        self.symbols = SymbolCache()
        self.ints = Ints()
        self.decimals = MessageScales()

    cdef int body_of(self, Tape t, int frame) except -1:
        # The message body at the root path; bail where the reference raises missing_field.
        cdef int body = self.root.resolve(t, frame)
        if body < 0:
            raise Bail()
        return body

    cdef Sym sym_of(self, Tape t, int body):
        cdef Sym sym
        if self.symbol.simple:
            sym = self.symbols.at(t, self.symbol.node(t, body))
        else:
            value = self.symbol.value(t, body)
            if type(value) is int:
                value = str(value)
            elif type(value) is not str:
                raise Bail()
            sym = self.symbols.named(value)
        return sym

    cdef list decimals_of(self, Sym sym):
        # The symbol's Scales list. Its first use is left to the reference (Scales.get creates
        # it, and that is state the reference creates only on some paths).
        if sym.decimals is None:
            sym.decimals = self.scales_by.get(sym.symbol)
            if sym.decimals is None:
                raise Bail()
        return sym.decimals

    cdef MessageScales scales_of(self, Tape t, Sym sym, int price, int price2, int size,
                                 int size2):
        """The message's decimals (see MessageScales): the symbol's, those still unknown learnt
        from the text of its price nodes and size nodes (``price2``, ``size2``: -1 for none)."""
        cdef MessageScales scales = self.decimals
        if scales.load(self.decimals_of(sym)):
            scales.learn(_max_decimals(t, price, price2), _max_decimals(t, size, size2))
        scales.check()
        return scales

    cdef int64_t next_seq(self) except? -1:
        # The sequencer's last seq, as a C integer (bail in the unlikely case it is not one).
        value = slot_get(self.sequencer, self.slots.seq, "seq")
        if type(value) is not int:
            raise Bail()
        try:
            return PyLong_AsLongLong(value)
        except OverflowError:
            raise Bail() from None

    cdef object commit(self, int64_t seq):
        """Nothing can fail from here on: stores the message's learnt decimals and the
        sequencer's new last seq, returned as the object the event holds."""
        self.decimals.commit()
        seq_obj = PyLong_FromLongLong(seq)
        slot_set(self.sequencer, self.slots.seq, "seq", seq_obj)
        return seq_obj

    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1:
        """The message's events (MessageHandler.__call__): one row, or one per element of the
        ``rows`` array. Returns 0 when done, or k + 1 when rows 0..k-1 are in ``out`` and row k
        is one this twin does not handle (a bad row, a first symbol...): the caller hands rows
        k onwards to the reference (``rows_from``), which reports a bad row as the reference
        does. A bail before any row is done raises Bail (nothing has changed)."""
        cdef int body = self.body_of(t, frame)
        cdef int rows, k, m
        t.frame = frame
        if self.rows is None:
            self.row(t, body, ts_recv, out)
            return 0
        rows = self.rows.resolve(t, body)
        if rows < 0:
            raise Bail()  # the reference raises missing_field
        if t.nodes[rows].kind != K_ARR:
            self.row(t, rows, ts_recv, out)
            return 0
        m = rows + 1
        for k in range(t.nodes[rows].count):
            try:
                self.row(t, m, ts_recv, out)
            except Bail:
                return k + 1
            m = t.nodes[m].next
        return 0

    cdef int row(self, Tape t, int body, object ts_recv, list out) except -1:
        raise NotImplementedError


cdef int _max_decimals(Tape t, int a, int b) noexcept:
    cdef int x = decimals_of(t, a)
    cdef int y = decimals_of(t, b) if b >= 0 else 0
    return x if x > y else y


@cython.final
cdef class CQuote(CHandler):
    cdef CField bid, bid_size, ask, ask_size

    def __init__(self, ctx, spec):
        CHandler.__init__(self, ctx, spec)
        self.bid = simple_field(spec.bid_price, "bid_price")
        self.bid_size = simple_field(spec.bid_size, "bid_size")
        self.ask = simple_field(spec.ask_price, "ask_price")
        self.ask_size = simple_field(spec.ask_size, "ask_size")

    cdef int row(self, Tape t, int body, object ts_recv, list out) except -1:
        cdef Sym sym = self.sym_of(t, body)
        cdef int bid = self.bid.node(t, body)
        cdef int bid_size = self.bid_size.node(t, body)
        cdef int ask = self.ask.node(t, body)
        cdef int ask_size = self.ask_size.node(t, body)
        cdef MessageScales scales = self.scales_of(t, sym, bid, ask, bid_size, ask_size)
        venue_seq = self.vseq.get(t, body)
        ts = self.ts.get(t, body)
        cdef bint scaled = self.scaled
        cdef int64_t bid_price = scale64(t, bid, scales.cprice, scaled)
        cdef int64_t bid_qty = scale64(t, bid_size, scales.csize, scaled)
        cdef int64_t ask_price = scale64(t, ask, scales.cprice, scaled)
        cdef int64_t ask_qty = scale64(t, ask_size, scales.csize, scaled)
        cdef int64_t seq = self.next_seq() + 1
        out.append(
            quote(
                self.stream, sym.symbol, self.commit(seq), venue_seq, ts, ts_recv,
                int_of(self.ints, bid_price), int_of(self.ints, bid_qty),
                int_of(self.ints, ask_price), int_of(self.ints, ask_qty),
                scales.price, scales.size,
            )
        )
        return 0


cdef str _plain_side(Tape t, int node):
    """messages.TradeHandler's side of a bare path: "" when absent, "buy" or "sell" as the text
    says; anything else (the reference's bad_side, a value of another type) bails."""
    cdef Py_ssize_t length
    cdef const unsigned char* s
    if node < 0:
        return ""
    if t.nodes[node].kind != K_STR:
        raise Bail()
    length = t.nodes[node].end - t.nodes[node].start
    s = t.s + t.nodes[node].start
    if length == 3 and s[0] == 98 and s[1] == 117 and s[2] == 121:  # buy
        return "buy"
    if length == 4 and s[0] == 115 and s[1] == 101 and s[2] == 108 and s[3] == 108:  # sell
        return "sell"
    if length == 0:
        return ""
    raise Bail()


@cython.final
cdef class CTrade(CHandler):
    cdef CField price, size, side, trade_id
    cdef bint side_plain  # side is a bare path: its text is compared, no str made per row

    def __init__(self, ctx, spec):
        CHandler.__init__(self, ctx, spec)
        self.price = simple_field(spec.price, "price")
        self.size = simple_field(spec.size, "size")
        self.side = CField(spec.side, "side", False)
        self.trade_id = CField(spec.trade_id, "trade_id", False)
        self.side_plain = self.side.simple

    cdef int row(self, Tape t, int body, object ts_recv, list out) except -1:
        cdef Sym sym = self.sym_of(t, body)
        cdef int price = self.price.node(t, body)
        cdef int size = self.size.node(t, body)
        cdef MessageScales scales = self.scales_of(t, sym, price, -1, size, -1)
        if self.side_plain:
            side = _plain_side(t, self.side.path.resolve(t, body))
        else:
            side = self.side.value(t, body)
            if side is MISSING:
                side = ""
            if type(side) is not str or side not in _TRADE_SIDES:
                raise Bail()
        trade_id = self.trade_id.value(t, body)
        if trade_id is MISSING:
            trade_id = ""
        elif type(trade_id) is not str:
            trade_id = str(trade_id)  # messages._text: str() of a scalar
        venue_seq = self.vseq.get(t, body)
        ts = self.ts.get(t, body)
        cdef bint scaled = self.scaled
        cdef int64_t price_value = scale64(t, price, scales.cprice, scaled)
        cdef int64_t size_value = scale64(t, size, scales.csize, scaled)
        cdef int64_t seq = self.next_seq() + 1
        out.append(
            trade(
                self.stream, sym.symbol, self.commit(seq), venue_seq, ts, ts_recv,
                int_of(self.ints, price_value), int_of(self.ints, size_value),
                scales.price, scales.size, side, trade_id,
            )
        )
        return 0
