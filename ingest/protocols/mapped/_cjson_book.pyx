# cython: language_level=3
"""The compiled book handler of the mapped decoder (``_cjson_decoder``, decision 0116).

book.BookHandler on the tape: the update lists of a message (array, object and id-keyed levels,
``side_field``, ``action``, ``level``, per-level times) read and scaled, the sync rule checked,
all before anything changes; then the shared book view (BookView, SymbolSync, ids) updated, the
depth kept, one BookDelta per level, and the checksum verified. A snapshot, a book that is not
LIVE, a gap and the first message of a symbol are the reference's (Bail).
"""

cimport cython
from cpython.dict cimport PyDict_Size
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLongLong
from libc.stdint cimport int64_t
from libc.stdlib cimport free, realloc

from ._cjson_checksum cimport Checksum, compile_checksum
from ._cjson_events cimport delta
from ._cjson_messages cimport CHandler
from ._cjson_numbers cimport MessageScales, int_of, scale64
from ._cjson_plan cimport CField, CInt, CPath, CTime
from ._cjson_state cimport Sym, member_offset, slot_get, slot_set
from ._cjson_tape cimport K_ARR, K_INT, Node, Tape, decimals_of, decoded, elements

from bisect import bisect_left, insort

from ._cjson_plan import Unsupported
from ._cjson_tape import Bail
from .booksync import SymbolSync
from .paths import MISSING

_BOOK_SIDES = {"bid": "bid", "ask": "ask", "buy": "bid", "sell": "ask"}
_ACTIONS = {"new": 1, "change": 2, "delete": 3}
_ACTION_NAMES = ("", "new", "change", "delete")
_NOTSET = object()
_LIVE = "LIVE"
_BID = "bid"
_ASK = "ask"


@cython.final
cdef class _Levels:
    """One compiled ``levels`` list (book._Levels on the tape)."""

    cdef CPath get, price, size, id
    cdef CField side_field, action
    cdef CInt level
    cdef CTime ts
    cdef int side
    cdef bint snapshot, single, plain

    def __init__(self, spec):
        self.get = CPath(spec.path)
        self.side = 0 if spec.side == "bid" else 1
        self.side_field = CField(spec.side_field, "side") if spec.side_field else None
        self.price = CPath(spec.price)
        self.size = CPath(spec.size)
        self.id = CPath(spec.id) if spec.id else None
        for path in (self.price, self.size, self.id):
            if path is not None and path.ends_slice:
                raise Unsupported("a level value path ends in a slice")
        self.action = CField(spec.action, "action") if spec.action else None
        self.level = CInt(spec.level, "level") if spec.level else None
        self.ts = CTime(spec.ts_exchange) if spec.ts_exchange else None
        self.snapshot = spec.snapshot
        self.single = spec.single
        self.plain = (
            spec.price == "[0]"
            and spec.size == "[1]"
            and not (spec.single or spec.side_field or spec.id or spec.action or spec.level)
            and spec.ts_exchange is None
        )


# One level of an update, read and scaled before anything changes (book.RawLevel on the tape).
cdef struct Raw:
    int side        # 0 bid, 1 ask
    int price       # node, -1 MISSING (a level keyed by id)
    int size        # node, -1 MISSING
    int action      # the feed's action: 0 none, 1 new, 2 change, 3 delete
    int extra       # index into the per-entry lists (id, level, ts); -1: plain (None, 0, message ts)
    int64_t price_v
    int64_t size_v


@cython.final
cdef class CBook(CHandler):
    cdef object handler, books, ts_default
    cdef list levels, raw_ids, raw_levels, raw_ts
    cdef CPath bodies
    cdef bint has_snapshot_lists, has_ids, checks
    cdef str rule
    cdef CInt first, last, prev
    cdef CPath checksum
    cdef Checksum crc     # None: the reference's checksum function runs
    cdef int depth
    cdef Raw* raw
    cdef int raw_cap
    cdef Py_ssize_t state_offset

    def __init__(self, ctx, spec, handler):
        CHandler.__init__(self, ctx, spec)
        self.handler = handler
        self.books = handler._books
        self.state_offset = member_offset(SymbolSync, "state")
        self.bodies = CPath(spec.bodies) if spec.bodies else None
        self.levels = [_Levels(levels) for levels in spec.levels]
        self.has_snapshot_lists = any(levels.snapshot for levels in spec.levels)
        self.has_ids = any(levels.id for levels in spec.levels)
        sync = spec.sync
        self.rule = sync.rule
        self.first = CInt(sync.first_id, "first_id", True) if sync.first_id else None
        self.last = CInt(sync.last_id, "last_id", True) if sync.last_id else None
        self.prev = CInt(sync.prev_id, "prev_id", True) if sync.prev_id else None
        self.checks = spec.checksum is not None and ctx.verify_checksum
        self.checksum = CPath(spec.checksum.path) if spec.checksum else None
        self.crc = compile_checksum(spec.checksum) if spec.checksum is not None else None
        self.depth = spec.depth
        self.raw_ids = []
        self.raw_levels = []
        self.raw_ts = []

    def __dealloc__(self):
        free(self.raw)

    cdef Raw* _slot(self, int index) except NULL:
        cdef Raw* grown
        if index >= self.raw_cap:
            grown = <Raw*>realloc(self.raw, (index * 2 + 16) * sizeof(Raw))
            if grown == NULL:
                raise MemoryError()
            self.raw = grown
            self.raw_cap = index * 2 + 16
        return &self.raw[index]

    cdef list _bodies(self, Tape t, int body):
        cdef int found
        if self.bodies is None:
            return [body]
        found = self.bodies.resolve(t, body)
        if found < 0:
            raise Bail()  # missing_field "bodies"
        if self.bodies.ends_slice:
            return elements(t, found, self.bodies.slice_)
        if t.nodes[found].kind == K_ARR:
            return elements(t, found, None)
        return [found]

    cdef bint _is_snapshot(self, Tape t, int part) noexcept:
        cdef _Levels lv
        for lv in self.levels:
            if lv.snapshot and lv.get.resolve(t, part) >= 0:
                return True
        return False

    cdef inline int _plain(self, Tape t, int entry, int side, int n) except -1:
        """A [price, size, ...] array level, the side given per list, as raw level ``n``;
        returns the new count, bails (bad_levels) on any other entry."""
        cdef Raw* r
        if t.nodes[entry].kind != K_ARR or t.nodes[entry].count < 2:
            raise Bail()
        r = self._slot(n)
        r.side = side
        r.price = entry + 1
        r.size = t.nodes[entry + 1].next
        r.action = 0
        r.extra = -1
        return n + 1

    cdef int _read(self, Tape t, int part, int n) except -1:
        """book._read_levels + _Levels.read for the update lists of one body: appends to
        self.raw from index ``n``, returns the new count; bails where the reference raises."""
        cdef int entries, entry, found, count
        cdef _Levels lv
        cdef Raw* r
        cdef list items
        cdef Node* nodes
        for lv in self.levels:
            if lv.snapshot:
                continue
            entries = lv.get.resolve(t, part)
            if entries < 0:
                continue
            nodes = t.nodes
            if lv.plain and not lv.get.ends_slice and nodes[entries].kind == K_ARR:
                # The common shape, walked without a list of the entries.
                entry = entries + 1
                for _ in range(nodes[entries].count):
                    n = self._plain(t, entry, lv.side, n)
                    entry = nodes[entry].next
                continue
            if lv.single:
                items = [entries]
            elif lv.get.ends_slice:
                items = elements(t, entries, lv.get.slice_)
            elif nodes[entries].kind == K_ARR:
                items = elements(t, entries, None)
            else:
                raise Bail()  # bad_levels
            for entry in items:
                if lv.plain:
                    n = self._plain(t, entry, lv.side, n)
                    continue
                r = self._slot(n)
                r.side = lv.side
                if lv.side_field is not None:
                    value = lv.side_field.value(t, entry)
                    if type(value) is not str:
                        raise Bail()
                    side = _BOOK_SIDES.get(value)
                    if side is None:
                        raise Bail()  # bad_side
                    r.side = 0 if side == "bid" else 1
                r.action = 0
                if lv.action is not None:
                    value = lv.action.value(t, entry)
                    if type(value) is not str or value not in _ACTIONS:
                        raise Bail()  # bad_action
                    r.action = _ACTIONS[value]
                r.price = lv.price.resolve(t, entry)
                r.size = lv.size.resolve(t, entry)
                if lv.id is not None:
                    found = lv.id.resolve(t, entry)
                    level_id = MISSING if found < 0 else decoded(t, found)
                else:
                    level_id = None
                r.extra = len(self.raw_ids)
                self.raw_ids.append(level_id)
                self.raw_levels.append(lv.level.get(t, entry) if lv.level is not None else 0)
                self.raw_ts.append(lv.ts.get(t, entry) if lv.ts is not None else self.ts_default)
                n += 1
        return n

    cdef int run(self, Tape t, int frame, object ts_recv, list out) except -1:
        cdef int body = self.body_of(t, frame)
        cdef int nparts = 1, n, k, found, pd_i, sd_i, x
        cdef list bodies = None
        cdef Raw* r
        cdef bint scaled = self.scaled
        cdef MessageScales scales = None
        cdef Sym sym = self.sym_of(t, body)
        if self.bodies is not None:
            bodies = self._bodies(t, body)
            nparts = len(bodies)
        if self.has_snapshot_lists:
            for k in range(nparts):
                if self._is_snapshot(t, _part(bodies, body, k)):
                    raise Bail()  # an in-stream snapshot: the reference installs it
        if sym.sync is None:
            state = self.books.get(sym.symbol)
            if state is None:
                raise Bail()  # the first message of a symbol: the reference creates its state
            sym.bind(state)
        sync = sym.sync
        sync_state = slot_get(sync, self.state_offset, "state")
        if sync_state is not _LIVE and sync_state != _LIVE:
            raise Bail()  # buffering or dropping while unsynced: the reference's job
        upto = None
        if self.last is not None:
            upto = self.last.get(t, body)
            first = self.first.get(t, body) if self.first is not None else upto
            prev = self.prev.get(t, body) if self.prev is not None else first - 1
            if not _applies(self.rule, sync.last, sync.fresh, first, upto, prev):
                raise Bail()  # stale or a gap
        ts_exchange = self.ts.get(t, body)
        if self.raw_ids:
            self.raw_ids = []
            self.raw_levels = []
            self.raw_ts = []
        self.ts_default = ts_exchange
        n = 0
        for k in range(nparts):
            n = self._read(t, _part(bodies, body, k), n)
        venue_seq = self.vseq.get(t, body)
        if n:
            scales = self.decimals
            if scales.load(self.decimals_of(sym)):
                pd_i = sd_i = 0
                for k in range(n):
                    r = &self.raw[k]
                    if r.price >= 0:
                        x = decimals_of(t, r.price)
                        pd_i = x if x > pd_i else pd_i
                    if r.size >= 0:
                        x = decimals_of(t, r.size)
                        sd_i = x if x > sd_i else sd_i
                scales.learn(pd_i, sd_i)
            scales.check()
            overlay = {} if self.has_ids else None
            for k in range(n):
                r = &self.raw[k]
                if r.size < 0 or r.action == 3:
                    r.size_v = 0
                else:
                    r.size_v = scale64(t, r.size, scales.csize, scaled)
                if r.extra < 0:
                    r.price_v = scale64(t, r.price, scales.cprice, scaled)
                    continue
                level_id = self.raw_ids[r.extra]
                if r.price < 0:
                    # A level keyed by id: its price comes from the insert (this message's
                    # earlier levels first, then the book's ids).
                    known = None
                    if level_id is not None:
                        known = overlay.get(level_id, _NOTSET)
                        if known is _NOTSET:
                            known = sym.ids.get(level_id)
                    if known is None:
                        raise Bail()  # unknown_level: the reference raises it mid-message
                    side, price = known
                    if type(price) is not int:
                        raise Bail()
                    try:
                        r.price_v = PyLong_AsLongLong(price)
                    except OverflowError:
                        raise Bail() from None
                    r.side = 0 if side == "bid" else 1
                else:
                    r.price_v = scale64(t, r.price, scales.cprice, scaled)
                    if level_id is not None:
                        overlay[level_id] = ("bid" if r.side == 0 else "ask", r.price_v)
                if level_id is not None and r.size_v == 0:
                    overlay[level_id] = None
        expected = None
        if self.checks:
            for k in range(nparts):
                found = self.checksum.resolve(t, _part(bodies, body, k))
                if found >= 0:
                    expected = _checksum_value(t, found)
                    break
        cdef int64_t seq = self.next_seq() if n else 0
        # Nothing can fail from here on: commit, in the reference's order.
        if upto is not None:
            sync.last = upto
            sync.fresh = False
        if n:
            scales.commit()
            self._apply(t, sym, n, venue_seq, ts_recv, scales.price, scales.size, seq, out)
        if expected is not None:
            pd, sd = self.scales.get(sym.symbol)
            stats = self.stats
            stats.checksums += 1
            computed = None
            if self.crc is not None:
                computed = self.crc.compute(sym, pd or 0, sd or 0)
            if computed is None:
                computed = self.handler._checksum(sym.book, pd or 0, sd or 0)
            if computed != expected:
                stats.checksum_mismatches += 1
                self.handler._lose_sync(
                    sym.symbol, sync, f"checksum mismatch: feed {expected}", ts_recv, out
                )
        return 0  # done (CHandler.run)

    cdef int _apply(self, Tape t, Sym sym, int n, venue_seq, ts_recv, pd, sd, int64_t seq,
                    list out) except -1:
        """book._emit_deltas after validation: apply each level to the book view (SideView.set
        inline), truncate to the depth, emit one BookDelta per entry with consecutive seq."""
        cdef int k, action, last = n - 1
        cdef Raw* r
        cdef dict levels
        cdef list keys
        cdef list pending = None
        cdef Py_ssize_t count
        cdef str stream = self.stream
        cdef str symbol = sym.symbol
        cdef bint depth = self.depth != 0
        cdef bint ids = self.has_ids
        seq_obj = None
        if depth:
            pending = []
        for k in range(n):
            r = &self.raw[k]
            price = int_of(self.ints, r.price_v)
            size = int_of(self.ints, r.size_v)
            side = _BID if r.side == 0 else _ASK
            if ids and r.extra >= 0:
                level_id = self.raw_ids[r.extra]
                if level_id is not None:
                    if r.price >= 0:  # else the price came from ids (validated above)
                        sym.ids[level_id] = (side, price)
                    if r.size_v == 0:
                        sym.ids.pop(level_id, None)
            if r.side == 0:
                levels = sym.bid_levels
                keys = sym.bid_keys
            else:
                levels = sym.ask_levels
                keys = sym.ask_keys
            if r.size_v != 0:
                # SideView.set: one dict operation tells new from change (the dict grows); the
                # key list and the dict end as the reference leaves them.
                count = PyDict_Size(levels)
                levels[price] = size
                if PyDict_Size(levels) != count:
                    # The sorted key (SideView.sign * price) is made only when the list changes.
                    insort(keys, price if r.side == 0 else PyLong_FromLongLong(-r.price_v))
                    action = 1
                else:
                    action = 2
            else:
                if price in levels:
                    del levels[price]
                    key = price if r.side == 0 else PyLong_FromLongLong(-r.price_v)
                    count = len(keys)
                    if keys[count - 1] == key:
                        del keys[count - 1]
                    else:
                        del keys[bisect_left(keys, key)]
                action = 3
            if r.action:
                action = r.action
            if r.extra < 0:
                level = 0
                ts = self.ts_default
            else:
                level = self.raw_levels[r.extra]
                ts = self.raw_ts[r.extra]
            if depth:
                pending.append((side, price, size, _ACTION_NAMES[action], level, ts))
                continue
            seq += 1
            seq_obj = PyLong_FromLongLong(seq)
            out.append(
                delta(
                    stream, symbol, seq_obj, venue_seq, ts, ts_recv, side,
                    price, size, _ACTION_NAMES[action], level, k == last, pd, sd,
                )
            )
        if depth:
            book = sym.book
            for side_name, side_view in ((_BID, book.bids), (_ASK, book.asks)):
                for price in side_view.truncate(self.depth):
                    ts = pending[len(pending) - 1][5]
                    pending.append((side_name, price, 0, "delete", 0, ts))
            last = len(pending) - 1
            for k in range(last + 1):
                side, price, size, action_name, level, ts = pending[k]
                seq += 1
                seq_obj = PyLong_FromLongLong(seq)
                out.append(
                    delta(
                        stream, symbol, seq_obj, venue_seq, ts, ts_recv, side,
                        price, size, action_name, level, k == last, pd, sd,
                    )
                )
        # The last event's seq object is the sequencer's new value.
        slot_set(self.sequencer, self.slots.seq, "seq", seq_obj)
        return 0


cdef inline int _part(list bodies, int body, Py_ssize_t k) except? -1:
    # Body k of a message: its bodies when the mapping has a ``bodies`` path, else the one body.
    return body if bodies is None else bodies[k]


cdef object _checksum_value(Tape t, int i):
    # int(expected) in book._verify; where it raises (bad_checksum), the reference must run.
    if t.nodes[i].kind == K_INT:
        return PyLong_FromLongLong(t.nodes[i].ival)
    try:
        return int(decoded(t, i))  # containers: Bail from decoded
    except (TypeError, ValueError):
        raise Bail() from None


cdef bint _applies(str rule, last, bint fresh, first, upto, prev) except -1:
    """booksync.check(...) == APPLY."""
    if last is None or rule == "none":
        return True
    if rule == "update_id_range":
        if upto <= last:
            return False
        if fresh:
            return first <= last + 1 <= upto
        return first == last + 1
    if rule == "prev_id_chain":
        if upto < last or (not fresh and upto <= last):
            return False
        if fresh:
            return min(first, prev) <= last <= upto
        return prev == last
    if upto <= last:
        return False
    return upto == last + 1
