"""``kind="replay"``: a recorded capture as a source, so a worker can run a capture.

Reading, format detection, decoder building and snapshot merging are the replay command's own
(:mod:`ingest.capture.replay_input`): a capture decodes the same here as with
``python -m pipelines replay``. Messages go through a :class:`~ingest.feed.FeedHandler`, so bad
frames are counted by reason in :attr:`ReplaySource.ingest_stats` and written to the worker's
dead-letter file (the worker sets :attr:`ReplaySource.dead_letters` before starting it).

Pacing: ``speed = 0`` replays as fast as the pipeline takes it (yielding to the event loop every
few hundred messages, so spec changes and metrics scrapes still run); ``speed > 0`` keeps the
recorded receive times' pace divided by ``speed`` (2.0: twice as fast). Files without recorded
times (NDJSON, CSV, FIX lines) always replay as fast as possible. ``loop`` starts over at the end
with fresh decoder state; ``seq`` keeps counting. A file that cannot be read raises from ``run``:
the worker reports the source ``failed`` and runs it again after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from ingest.capture.replay_input import (
    CaptureFile,
    ReplayError,
    ReplayFeed,
    ReplayOptions,
    build_decoder,
    fix_separator_params,
    merge_snapshots,
)
from ingest.feed import DeadLetterFile, FeedHandler, IngestStats
from ingest.protocols.base import Sequencer
from ingest.sources.base import Emit, Source
from pipelines.registry import SOURCES
from pipelines.spec import SourceSpec

__all__ = ["ReplayParams", "ReplaySource"]


_YIELD_EVERY = 256  # messages between two event-loop turns when not paced


class ReplayParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    path: Annotated[str, Meta(min_length=1)]
    """The capture file (pcap/pcapng, ws capture text, NDJSON, CSV, FIX lines)."""
    protocol: str = ""
    """Protocol plugin (``fix``, ``sbe``, ``json``, ``csv``...); empty: the spec's ``protocol``."""
    dictionary: str = ""
    """FIX: QuickFIX XML dictionary."""
    schema: str = ""
    """SBE: the schema (CME MDP 3.0)."""
    mapping: str = ""
    """json/csv: mapping name or path; empty: the spec's ``mapping``."""
    protocol_params: dict[str, Any] = {}
    """Other parameters of the protocol plugin (e.g. FIX ``symbol_tags``)."""
    snapshots: str = ""
    """A capture of REST snapshot responses, merged by receive time."""
    speed: Annotated[float, Meta(ge=0, le=1_000_000)] = 0.0
    """0: as fast as possible; otherwise the recorded pace times ``speed``."""
    loop: bool = False
    """Start over at the end of the file."""


@SOURCES.register
class ReplaySource(Source[ReplayParams]):
    kind: ClassVar[str] = "replay"
    Params: ClassVar[type[msgspec.Struct]] = ReplayParams

    def __init__(self, name: str, spec: SourceSpec, params: ReplayParams, emit: Emit) -> None:
        super().__init__(name, spec, params, emit)
        self.ingest_stats = IngestStats()
        self.dead_letters: DeadLetterFile | None = None
        self.passes = 0
        # One stream, one seq: a pass after a loop or after a failure (the worker runs a
        # failed source again) counts on.
        self.sequencer = Sequencer(name)
        self._stopping = asyncio.Event()

    def options(self) -> ReplayOptions:
        params = self.params
        return ReplayOptions(
            protocol=params.protocol or self.spec.protocol,
            dictionary=params.dictionary,
            schema=params.schema,
            mapping=params.mapping or self.spec.mapping,
            params=dict(params.protocol_params),
        )

    def update(self, params: ReplayParams) -> bool:
        """Speed and looping change in place; anything else replays a new file from the start."""
        old = self.params
        if msgspec.structs.replace(params, speed=old.speed, loop=old.loop) != old:
            return False
        self.params = params
        return True

    async def run(self) -> None:
        """Replay the file (again and again with ``loop``); an unreadable file or unusable
        options raise (the worker reports the source failed and tries again later)."""
        while not self._stopping.is_set():
            try:
                capture = CaptureFile(self.params.path)
                snapshots = CaptureFile(self.params.snapshots) if self.params.snapshots else None
                options = fix_separator_params(self.options(), capture)
                # Dictionaries and schemas can take a moment to compile: off the event loop.
                _kind, decoder = await asyncio.to_thread(
                    build_decoder, options, self.name, self.sequencer
                )
            except (OSError, ReplayError) as exc:
                raise ReplayError(f"replay source {self.name} cannot start: {exc}") from exc
            feed = ReplayFeed(
                FeedHandler(
                    self.name,
                    decoder,
                    self.emit,
                    dead_letters=self.dead_letters,
                    stats=self.ingest_stats,
                )
            )
            await self._pass(feed, capture, snapshots)
            self.passes += 1
            if not self.params.loop:
                return

    async def _pass(
        self, feed: ReplayFeed, capture: CaptureFile, snapshots: CaptureFile | None
    ) -> None:
        loop = asyncio.get_running_loop()
        on_message, on_snapshot = feed.feed.on_message, feed.on_snapshot
        stopping = self._stopping
        first_ts = 0
        anchor = 0.0
        count = 0
        for ts_recv, payload, url in merge_snapshots(capture, snapshots):
            if stopping.is_set():
                return
            speed = self.params.speed
            if speed > 0 and ts_recv:
                if not first_ts:
                    first_ts, anchor = ts_recv, loop.time()
                delay = anchor + (ts_recv - first_ts) / 1e9 / speed - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), delay)
                    if stopping.is_set():
                        return
            else:
                count += 1
                if count % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            if url:
                on_snapshot(url, payload, ts_recv)
            else:
                on_message(payload, ts_recv)

    async def stop(self) -> None:
        self._stopping.set()
