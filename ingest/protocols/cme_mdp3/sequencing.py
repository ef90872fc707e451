"""Feed-level and instrument-level sequence checks.

- :class:`PacketArbiter`: A/B arbitration by packet MsgSeqNum. The first copy of a packet wins;
  a later copy is a duplicate and dropped; a jump forward is a gap (reported with its size). A
  packet that arrives late but fills a gap still counts (it is not a duplicate), as long as the gap
  is within ``window`` packets. A jump backwards by more than ``window`` is a sequence reset (CME
  restarts MsgSeqNum at 1 weekly and after a channel failover) and starts over.
- :class:`RptSeqTracker`: per SecurityID, RptSeq rises by one with every market-data entry of
  every message type; a jump is an instrument-level gap (the book must be resynced from a
  snapshot), a repeat or a step back is stale (already applied) and skipped.
"""

from __future__ import annotations

__all__ = ["DUPLICATE", "PacketArbiter", "RptSeqTracker"]

DUPLICATE = -1


class PacketArbiter:
    __slots__ = (
        "duplicates",
        "expected",
        "gaps",
        "late",
        "missing",
        "missing_packets",
        "resets",
        "window",
    )

    def __init__(self, window: int = 4096) -> None:
        self.window = window
        self.expected = 0  # next MsgSeqNum; 0 before the first packet
        self.missing: set[int] = set()
        self.duplicates = 0
        self.gaps = 0
        self.missing_packets = 0
        self.late = 0
        self.resets = 0

    def accept(self, seq: int) -> int:
        """DUPLICATE (drop it), 0 (process it) or the number of packets missing before it."""
        expected = self.expected
        if seq == expected or expected == 0:
            self.expected = seq + 1
            return 0
        if seq > expected:
            missing = seq - expected
            if missing <= self.window:
                self.missing.update(range(expected, seq))
                if len(self.missing) > 2 * self.window:
                    self.missing = set(sorted(self.missing)[-self.window :])
            self.expected = seq + 1
            self.gaps += 1
            self.missing_packets += missing
            return missing
        if seq in self.missing:
            self.missing.discard(seq)
            self.late += 1
            return 0
        if seq + self.window < expected:
            self.resets += 1
            self.missing.clear()
            self.expected = seq + 1
            return 0
        self.duplicates += 1
        return DUPLICATE


class RptSeqTracker:
    __slots__ = ("gaps", "last", "stale")

    def __init__(self) -> None:
        self.last: dict[int, int] = {}
        self.gaps = 0
        self.stale = 0

    def check(self, security_id: int, rpt_seq: int) -> int:
        """0 in sequence (or first seen), n > 0 entries missing before this one, -1 stale."""
        last = self.last.get(security_id)
        if last is None or rpt_seq == last + 1:
            self.last[security_id] = rpt_seq
            return 0
        if rpt_seq <= last:
            self.stale += 1
            return -1
        self.last[security_id] = rpt_seq
        self.gaps += 1
        return rpt_seq - last - 1

    def reset(self, security_id: int, rpt_seq: int) -> None:
        """A snapshot says the instrument stands at ``rpt_seq``."""
        self.last[security_id] = rpt_seq

    def clear(self) -> None:
        """ChannelReset: every instrument's RptSeq restarts."""
        self.last.clear()
