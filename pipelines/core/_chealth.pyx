"""Compiled twin of :mod:`pipelines.core.health` (docs/decisions/0112, 0115).

The same state machine, the same ``Status`` events: the transition table and the decoder-status
triggers are the reference module's own objects (imported, never copied). What is compiled is the
per-message path the pipeline takes on a LIVE book (``on_update``, the crossed flag, ``label``):
attribute reads become C field reads.
"""

cimport cython

from pipelines.core.health import _STATUS_TRIGGERS, TRANSITIONS, DEFAULT_STALE_AFTER_NS

from pipelines.events import Status

__all__ = ["BookHealth"]

# The states are the reference's interned strings; comparing them is an identity check first.
cdef str SYNCING = "SYNCING"
cdef str LIVE = "LIVE"
cdef str RESYNC = "RESYNC"
cdef str STALE = "STALE"
cdef dict _TRANSITIONS = TRANSITIONS
cdef dict _TRIGGERS = _STATUS_TRIGGERS


@cython.final
cdef class BookHealth:
    """Health of one (stream, symbol) book. Methods return the ``Status`` of a change, else None."""

    def __init__(self, stream, symbol, stale_after_ns=DEFAULT_STALE_AFTER_NS):
        self.stream = stream
        self.symbol = symbol
        self.stale_after_ns = stale_after_ns
        self.state = SYNCING
        self.crossed = False
        # True while updates must not apply: after a decoder's SYNCING, a gap or a reset.
        self.needs_snapshot = False
        self.gaps = 0
        self.messages = 0  # venue messages applied; tick() compares it with seen_messages
        self.seen_messages = 0
        self.last_active_ns = -1
        self.announced = False  # whether any Status went out (the first SYNCING is announced)

    cdef str _label(self):
        return f"{self.state}|CROSSED" if self.crossed else self.state

    @property
    def label(self):
        """The state as a published ``BookSnapshot.state`` carries it (``LIVE|CROSSED``)."""
        return self._label()

    @property
    def accepting(self):
        """Whether book updates apply now (false from a gap until a snapshot)."""
        return not self.needs_snapshot

    cdef object _move(self, str trigger, object reason, object seq, object ts):
        new = _TRANSITIONS.get((self.state, trigger), self.state)
        if new == self.state and (self.announced or trigger != "syncing"):
            return None
        self.state = new
        self.announced = True
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=new, reason=reason
        )

    cpdef on_snapshot(self, seq=0, ts=0, reason="snapshot applied"):
        self.needs_snapshot = False
        self.messages += 1
        return self._move("snapshot", reason, seq, ts)

    cpdef on_update(self, seq=0, ts=0):
        """A venue message was applied (call at ``batch_end`` only)."""
        self.messages += 1
        if self.state == LIVE:
            return None
        return self._move(
            "update", "updates resumed" if self.state == STALE else "first update", seq, ts
        )

    def on_gap(self, reason, seq=0, ts=0):
        self.gaps += 1
        self.needs_snapshot = True
        return self._move("gap", reason, seq, ts)

    def on_reset(self, reason="reset", seq=0, ts=0):
        self.needs_snapshot = True
        return self._move("reset", reason, seq, ts)

    def on_status(self, status):
        """A decoder's Status: ``(about this book, the resulting change)``."""
        trigger = _TRIGGERS.get(status.state)
        if trigger is None:
            return False, None
        seq, ts, reason = status.seq, status.ts_recv, status.reason or status.state.lower()
        if trigger == "gap":
            return True, self.on_gap(reason, seq, ts)
        if trigger == "reset":
            return True, self.on_reset(reason, seq, ts)
        if trigger == "syncing":
            self.needs_snapshot = True
            return True, self._move("syncing", reason, seq, ts)
        # LIVE from a decoder follows its snapshot, which already moved the book.
        if self.needs_snapshot:
            return True, None
        return True, self._move("snapshot", reason, seq, ts)

    cpdef set_crossed(self, bint crossed, reason, seq=0, ts=0):
        if crossed == self.crossed:
            return None
        self.crossed = crossed
        state = "CROSSED" if crossed else self.state
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=state, reason=reason
        )

    def tick(self, now_ns):
        """Timer check: LIVE with no message since ``stale_after_ns`` becomes STALE."""
        if self.messages != self.seen_messages or self.last_active_ns < 0:
            self.seen_messages = self.messages
            self.last_active_ns = now_ns
            return None
        silent = now_ns - self.last_active_ns
        if self.state == LIVE and silent >= self.stale_after_ns:
            return self._move("silence", f"no update for {silent / 1e9:.1f} s", 0, now_ns)
        return None

    def __repr__(self):
        return f"BookHealth({self.stream!r}, {self.symbol!r}, state={self._label()!r})"
