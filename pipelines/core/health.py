"""The health of one book: a state machine whose every change is a ``Status`` event.

States (a transition table, :data:`TRANSITIONS`, names every legal move):

- ``SYNCING``: no consistent book yet. A feed without snapshots (the simulator, a CSV file) goes
  LIVE on its first update; a feed whose decoder announced ``SYNCING`` waits for a snapshot.
- ``LIVE``: updates apply; the book is published at every venue message.
- ``RESYNC``: a gap was seen (a decoder's ``RESYNC``/``GAP`` status, or a hole in the stream's
  ingest ``seq``). No update is applied across a gap: deltas are dropped (counted) until a
  snapshot replaces the book, which makes it LIVE again.
- ``STALE``: LIVE but silent for ``stale_after_ns``. Checked by :meth:`BookHealth.tick` on a
  timer with an injected clock, never per event; the next update makes it LIVE again.

``CROSSED`` is a flag on top of the state (best bid above best ask): setting it emits
``Status(state="CROSSED")``, clearing it ``Status(state=<state>, reason="uncrossed ...")``, and
:attr:`BookHealth.label` (what a published ``BookSnapshot.state`` carries) reads ``LIVE|CROSSED``.
A decoder's ``RESET`` status clears the book and waits for a snapshot (SYNCING).

One source (docs/decisions/0117): ``health.pxd`` makes :class:`BookHealth` a C class when the
build compiles this file (its fields C fields, the per-message methods C calls for the compiled
keeper); the same lines run as Python when it is not built.
"""

from __future__ import annotations

from typing import Final, Literal

from pipelines.events import Status

__all__ = [
    "DEFAULT_STALE_AFTER_NS",
    "LIVE",
    "RESYNC",
    "STALE",
    "SYNCING",
    "TRANSITIONS",
    "BookHealth",
    "HealthState",
    "Trigger",
]

HealthState = Literal["SYNCING", "LIVE", "RESYNC", "STALE"]
Trigger = Literal["snapshot", "update", "gap", "reset", "silence", "syncing"]

SYNCING: Final = "SYNCING"
LIVE: Final = "LIVE"
RESYNC: Final = "RESYNC"
STALE: Final = "STALE"
DEFAULT_STALE_AFTER_NS: Final = 10_000_000_000

TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (SYNCING, "snapshot"): LIVE,
    (SYNCING, "update"): LIVE,
    (SYNCING, "gap"): SYNCING,  # never synced: still waiting for the first snapshot
    (SYNCING, "reset"): SYNCING,
    (SYNCING, "syncing"): SYNCING,
    (LIVE, "snapshot"): LIVE,
    (LIVE, "update"): LIVE,
    (LIVE, "gap"): RESYNC,
    (LIVE, "reset"): SYNCING,
    (LIVE, "silence"): STALE,
    (LIVE, "syncing"): SYNCING,
    (RESYNC, "snapshot"): LIVE,
    (RESYNC, "gap"): RESYNC,
    (RESYNC, "reset"): SYNCING,
    (RESYNC, "syncing"): RESYNC,
    (STALE, "snapshot"): LIVE,
    (STALE, "update"): LIVE,
    (STALE, "gap"): RESYNC,
    (STALE, "reset"): SYNCING,
    (STALE, "silence"): STALE,
    (STALE, "syncing"): SYNCING,
}

# Decoder status states and the trigger each one is (others are not about the book's sync).
_STATUS_TRIGGERS: Final[dict[str, Trigger]] = {
    "SYNCING": "syncing",
    "RESYNC": "gap",
    "GAP": "gap",
    "RESET": "reset",
    "LIVE": "snapshot",
}


class BookHealth:
    """Health of one (stream, symbol) book. Methods return the ``Status`` of a change, else None."""

    __slots__ = (
        "announced",
        "crossed",
        "gaps",
        "last_active_ns",
        "messages",
        "needs_snapshot",
        "seen_messages",
        "stale_after_ns",
        "state",
        "stream",
        "symbol",
    )

    def __init__(
        self, stream: str, symbol: str, stale_after_ns: int = DEFAULT_STALE_AFTER_NS
    ) -> None:
        self.stream = stream
        self.symbol = symbol
        self.stale_after_ns = stale_after_ns
        self.state: str = SYNCING
        self.crossed = False
        # True while updates must not apply: after a decoder's SYNCING, a gap or a reset.
        self.needs_snapshot = False
        self.gaps = 0
        self.messages = 0  # venue messages applied; tick() compares it with seen_messages
        self.seen_messages = 0
        self.last_active_ns = -1
        self.announced = False  # whether any Status went out (the first SYNCING is announced)

    @property
    def label(self) -> str:
        """The state as a published ``BookSnapshot.state`` carries it (``LIVE|CROSSED``)."""
        return self.state_label()

    def state_label(self) -> str:
        """:attr:`label` as a call (a C call for the compiled keeper)."""
        return f"{self.state}|CROSSED" if self.crossed else self.state

    @property
    def accepting(self) -> bool:
        """Whether book updates apply now (false from a gap until a snapshot)."""
        return not self.needs_snapshot

    def _move(self, trigger: Trigger, reason: str, seq: int, ts: int) -> Status | None:
        new = TRANSITIONS.get((self.state, trigger), self.state)
        if new == self.state and (self.announced or trigger != "syncing"):
            return None
        self.state = new
        self.announced = True
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=new, reason=reason
        )

    def on_snapshot(
        self, seq: int = 0, ts: int = 0, reason: str = "snapshot applied"
    ) -> Status | None:
        self.needs_snapshot = False
        self.messages += 1
        return self._move("snapshot", reason, seq, ts)

    def on_update(self, seq: int = 0, ts: int = 0) -> Status | None:
        """A venue message was applied (call at ``batch_end`` only)."""
        self.messages += 1
        if self.state == LIVE:
            return None
        return self._move(
            "update", "updates resumed" if self.state == STALE else "first update", seq, ts
        )

    def on_gap(self, reason: str, seq: int = 0, ts: int = 0) -> Status | None:
        self.gaps += 1
        self.needs_snapshot = True
        return self._move("gap", reason, seq, ts)

    def on_reset(self, reason: str = "reset", seq: int = 0, ts: int = 0) -> Status | None:
        self.needs_snapshot = True
        return self._move("reset", reason, seq, ts)

    def on_status(self, status: Status) -> tuple[bool, Status | None]:
        """A decoder's Status: ``(about this book, the resulting change)``."""
        trigger = _STATUS_TRIGGERS.get(status.state)
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

    def set_crossed(self, crossed: bool, reason: str, seq: int = 0, ts: int = 0) -> Status | None:
        if crossed == self.crossed:
            return None
        self.crossed = crossed
        state = "CROSSED" if crossed else self.state
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=state, reason=reason
        )

    def tick(self, now_ns: int) -> Status | None:
        """Timer check: LIVE with no message since ``stale_after_ns`` becomes STALE."""
        if self.messages != self.seen_messages or self.last_active_ns < 0:
            self.seen_messages = self.messages
            self.last_active_ns = now_ns
            return None
        silent = now_ns - self.last_active_ns
        if self.state == LIVE and silent >= self.stale_after_ns:
            return self._move("silence", f"no update for {silent / 1e9:.1f} s", 0, now_ns)
        return None

    def __repr__(self) -> str:
        return f"BookHealth({self.stream!r}, {self.symbol!r}, state={self.state_label()!r})"
