"""The feed handler: one source's framed messages -> its decoder -> events, with the accounting.

Every source that carries bytes (WebSocket, TCP, UDP, replay) hands each framed message to
:meth:`FeedHandler.on_message`. Bad input never escapes: a :class:`DecodeError` (or, defensively,
any other exception from a decoder) is counted by reason, logged at most once per reason per
interval, and written to the dead-letter file with the raw bytes; the source goes on.

Decode warnings: a decoder with a ``warnings`` list (``(reason, detail)`` pairs of the message
it last decoded: an optional field it could not parse and left out, e.g. FIX's MDEntryTime) has
its message's events emitted all the same; each warning is counted by reason
(``decode_warnings``), logged like errors, and the raw bytes are dead-lettered once per reason
with ``severity="warning"``.

:class:`IngestStats` holds plain integers that the hot path bumps; the worker's metrics read them
when scraped, so counting costs no Prometheus call per message.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import msgspec

from ingest.protocols.base import DecodeError, Decoder
from pipelines.events import Event, Status

__all__ = ["DeadLetter", "DeadLetterFile", "FeedHandler", "IngestStats", "RateLimitedLog"]

log = logging.getLogger(__name__)

# Receive minus exchange time, in seconds: from a colocated feed (µs) to a replayed capture (days).
LATENCY_BUCKETS: Final = (
    1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0, 60.0, 3600.0,
)  # fmt: skip
_GAP_STATES: Final = frozenset({"GAP", "RESYNC"})


class IngestStats:
    """Counters of one source. Rates (messages/s, bytes/s) are derived from them by the reader."""

    __slots__ = (
        "bytes",
        "decode_errors",
        "decode_warnings",
        "errors_by_reason",
        "events",
        "gaps",
        "latency_buckets",
        "latency_count",
        "latency_sum",
        "messages",
        "reconnects",
        "warnings_by_reason",
    )

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.events = 0
        self.decode_errors = 0
        self.errors_by_reason: dict[str, int] = {}
        # Messages kept without a field that did not parse (a decoder's warnings), by reason.
        self.decode_warnings = 0
        self.warnings_by_reason: dict[str, int] = {}
        self.gaps = 0
        self.reconnects = 0
        # A cumulative histogram of ts_recv - ts_exchange, one sample per message that has both.
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe_latency(self, seconds: float) -> None:
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_buckets[i] += 1
                break
        else:
            self.latency_buckets[-1] += 1
        self.latency_sum += seconds
        self.latency_count += 1


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """One rejected message as written to the dead-letter file (one JSON object per line).

    ``severity``: ``"error"``, the message was rejected (no events); ``"warning"``, its events
    went out without a field that did not parse (``reason`` says which)."""

    time_ns: int
    source: str
    reason: str
    detail: str
    raw_b64: str
    severity: str = "error"


class DeadLetterFile:
    """Appends rejected messages as NDJSON; rolls the file over at ``max_bytes`` (one backup)."""

    def __init__(self, path: str | Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.written = 0
        self._lock = threading.Lock()
        self._encoder = msgspec.json.Encoder()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(
        self, source: str, reason: str, detail: str, raw: bytes, severity: str = "error"
    ) -> None:
        letter = DeadLetter(
            time_ns=time.time_ns(),
            source=source,
            reason=reason,
            detail=detail[:500],
            raw_b64=base64.b64encode(raw).decode("ascii"),
            severity=severity,
        )
        line = self._encoder.encode(letter) + b"\n"
        with self._lock:
            try:
                if self.path.exists() and self.path.stat().st_size + len(line) > self.max_bytes:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                with self.path.open("ab") as out:
                    out.write(line)
                self.written += 1
            except OSError as exc:  # a full disk must not stop ingestion either
                log.error("dead-letter file %s not writable: %s", self.path, exc)

    @staticmethod
    def read(path: str | Path) -> list[DeadLetter]:
        decoder = msgspec.json.Decoder(DeadLetter)
        with Path(path).open("rb") as lines:
            return [decoder.decode(line) for line in lines if line.strip()]


class RateLimitedLog:
    """Logs at most once per key per ``interval`` seconds, saying how many it held back."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        held = self._suppressed.pop(key, 0)
        self._last[key] = now
        suffix = f" ({held} more like it in the last {self.interval:g} s)" if held else ""
        self.logger.warning(message + suffix, *args)
        return True


class FeedHandler:
    """Decodes one source's messages and emits each message's events as one batch."""

    def __init__(
        self,
        source: str,
        decoder: Decoder,
        emit: Callable[[list[Event]], None],
        *,
        dead_letters: DeadLetterFile | None = None,
        stats: IngestStats | None = None,
        log_interval: float = 10.0,
    ) -> None:
        self.source = source
        self._warnings: list[tuple[str, str]] | None = None
        self.decoder = decoder
        self.emit = emit
        self.dead_letters = dead_letters
        self.stats = stats or IngestStats()
        self._log = RateLimitedLog(log, log_interval)

    @property
    def decoder(self) -> Decoder:
        return self._decoder

    @decoder.setter
    def decoder(self, decoder: Decoder) -> None:
        self._decoder = decoder
        # The decoder's warnings list (the same object for its life), if it keeps one.
        warnings = getattr(decoder, "warnings", None)
        self._warnings = warnings if isinstance(warnings, list) else None
        #: The decoder's per-row errors, when it has them (see base.Decoder.decode): the same
        #: list object for the decoder's life, refilled by each decode.
        self._row_errors: list[DecodeError] | None = getattr(decoder, "row_errors", None)

    def on_message(self, data: bytes, ts_recv: int) -> list[Event]:
        """Decode one framed message; returns (and emits) its events, ``[]`` when rejected.

        Nothing a message holds gets past this boundary: decoding, the accounting of its events
        and their delivery to ``emit`` all run inside it (a try block costs nothing until it
        catches, since Python 3.11)."""
        stats = self.stats
        stats.messages += 1
        stats.bytes += len(data)
        try:
            events = self._decoder.decode(data, ts_recv)
            warnings = self._warnings
            if warnings:
                self.warn(data, warnings)
            if events:
                stats.events += len(events)
                last = events[-1]
                if last.ts_exchange and ts_recv:
                    stats.observe_latency((ts_recv - last.ts_exchange) / 1e9)
                for event in events:
                    if type(event) is Status and event.state in _GAP_STATES:
                        stats.gaps += 1
            if self._row_errors:
                # Rows rejected while the message's other rows gave events: each is counted
                # and dead-lettered (with the whole message's bytes) like a rejected message.
                for row_error in self._row_errors:
                    self.reject(data, row_error.reason, row_error.detail)
        except DecodeError as exc:
            self.reject(data, exc.reason, exc.detail)
            return []
        except Exception as exc:  # a decoder bug must not kill the worker either
            self.reject(data, f"internal:{type(exc).__name__}", str(exc))
            return []
        if events:
            try:
                self.emit(events)
            except Exception as exc:  # a consumer's failure is not the source's: count it
                self.reject(data, f"emit:{type(exc).__name__}", str(exc))
        return events

    def warn(self, data: bytes, warnings: list[tuple[str, str]]) -> None:
        """Count and log each warning of a kept message; dead-letter it once per reason."""
        stats = self.stats
        written: set[str] = set()
        for reason, detail in warnings:
            stats.decode_warnings += 1
            stats.warnings_by_reason[reason] = stats.warnings_by_reason.get(reason, 0) + 1
            self._log.warning(
                "warning:" + reason,
                "%s: kept a message without a field (%s): %s",
                self.source,
                reason,
                detail or "-",
            )
            if self.dead_letters is not None and reason not in written:
                written.add(reason)
                self.dead_letters.write(self.source, reason, detail, data, "warning")
        warnings.clear()

    def reject(self, data: bytes, reason: str, detail: str = "") -> None:
        """Count, log (rate-limited) and dead-letter one message the source could not use."""
        stats = self.stats
        stats.decode_errors += 1
        stats.errors_by_reason[reason] = stats.errors_by_reason.get(reason, 0) + 1
        self._log.warning(
            reason, "%s: rejected a message (%s): %s", self.source, reason, detail or "-"
        )
        if self.dead_letters is not None:
            self.dead_letters.write(self.source, reason, detail, data)
