"""What every byte-carrying source shares: its decoder, the feed handler, resync and REST snapshots.

A :class:`ByteFeed` builds the source's decoder from ``PROTOCOLS`` (``SourceSpec.protocol``, with
``SourceSpec.mapping`` as the mapped protocols' ``mapping``), owns the stream's
:class:`~ingest.protocols.base.Sequencer` (so ``seq`` keeps counting across reconnects) and the
:class:`~ingest.feed.FeedHandler` every framed message goes through.

After a lost connection the decoder's book state is stale: :meth:`ByteFeed.resync` emits
``Status(RESYNC)`` per symbol, then drops the state by building a fresh decoder on the same
sequencer (any decoder, no reset method needed). The fresh mapped decoder waits for a snapshot:
in-stream snapshots come after the resubscribe; REST snapshots are fetched by
:class:`SnapshotFetcher` as soon as the decoder says it needs them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from ingest.feed import DeadLetterFile, FeedHandler, IngestStats
from ingest.protocols.base import DecodeError, Sequencer
from ingest.sources.backoff import Backoff
from ingest.sources.base import Emit
from pipelines.events import Event, Status
from pipelines.registry import PROTOCOLS
from pipelines.spec import SourceSpec

__all__ = ["FEED_SYMBOL", "ByteFeed", "FeedAttributes", "SnapshotFetcher", "protocol_params"]

log = logging.getLogger(__name__)

FEED_SYMBOL: Final = "_feed"
"""Symbol of stream-level Status events when the source has no symbol list."""
_MAPPED: Final = frozenset({"json", "csv"})


def protocol_params(spec: SourceSpec, protocol: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The protocol's raw params: ``SourceSpec.mapping`` for mapped protocols, then ``extra``."""
    raw: dict[str, Any] = {}
    if protocol in _MAPPED and spec.mapping:
        raw["mapping"] = spec.mapping
    raw.update(extra)
    return raw


class ByteFeed:
    """One source's decoding state; ``on_message`` is the hot path (the FeedHandler's)."""

    def __init__(
        self,
        stream: str,
        spec: SourceSpec,
        protocol: str,
        params: dict[str, Any],
        emit: Emit,
        symbols: Sequence[str],
    ) -> None:
        if not protocol:
            raise ValueError(f"source {stream!r} needs a protocol to decode its bytes")
        self.stream = stream
        self.protocol = protocol
        self.symbols = list(symbols)
        self._plugin: Any = PROTOCOLS.get(protocol)
        self._params = PROTOCOLS.params(protocol, protocol_params(spec, protocol, params))
        self.sequencer = Sequencer(stream)
        self.emit = emit
        self.stats = IngestStats()
        self.decoder: Any = self._plugin(stream, self._params, self.sequencer)
        self.handler = FeedHandler(
            stream,
            self.decoder,
            emit,
            stats=self.stats,
        )
        self.on_message = self.handler.on_message
        self.resyncs = 0

    def status(self, state: str, reason: str, ts_recv: int | None = None) -> list[Event]:
        """One Status per symbol (or one on the feed symbol), seq from the stream's sequencer."""
        ts = time.time_ns() if ts_recv is None else ts_recv
        sequencer = self.sequencer
        return [
            Status(
                stream=self.stream,
                symbol=symbol,
                seq=sequencer.next(),
                ts_recv=ts,
                state=state,
                reason=reason,
            )
            for symbol in self.symbols or [FEED_SYMBOL]
        ]

    def resync(self, reason: str) -> None:
        """The input was cut: tell consumers (RESYNC) and drop every book the decoder kept."""
        self.resyncs += 1
        self.emit(self.status("RESYNC", reason))
        self.decoder = self._plugin(self.stream, self._params, self.sequencer)
        self.handler.decoder = self.decoder

    # -- the mapped decoder's subscribe side (other protocols have none) --------------------
    def url(self) -> str:
        method = getattr(self.decoder, "url", None)
        return str(method(self.symbols)) if method is not None else ""

    def subscribe_messages(self) -> list[bytes]:
        method = getattr(self.decoder, "subscribe_messages", None)
        return list(method(self.symbols)) if method is not None else []

    def uses_rest_snapshots(self) -> bool:
        method = getattr(self.decoder, "snapshot_urls", None)
        return method is not None and bool(method(self.symbols or ["X"]))


class FeedAttributes:
    """What the worker reads from a byte source: ``ingest_stats`` (scraped as metrics) and the
    ``dead_letters`` file it sets before the source starts."""

    feed: ByteFeed

    @property
    def ingest_stats(self) -> IngestStats:
        return self.feed.stats

    @property
    def stats(self) -> IngestStats:
        return self.feed.stats

    @property
    def dead_letters(self) -> DeadLetterFile | None:
        return self.feed.handler.dead_letters

    @dead_letters.setter
    def dead_letters(self, value: DeadLetterFile | None) -> None:
        self.feed.handler.dead_letters = value


class SnapshotFetcher:
    """Fetches the REST snapshots a mapped decoder waits for; applies them in the event loop.

    ``poll()`` is cheap enough to call after every frame: it starts one task per symbol that
    needs a snapshot and has no fetch in flight. A failed fetch retries with backoff while the
    book still needs it. A response that arrives after a resync (new decoder) is discarded.
    ``base`` replaces scheme and host of the mapping's URLs (a local venue simulator, a proxy).
    """

    def __init__(
        self,
        feed: ByteFeed,
        *,
        base: str = "",
        timeout: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.feed = feed
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.backoff = backoff or Backoff(0.2, 10.0)
        self.fetched = 0
        self.failed = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    def poll(self) -> None:
        needed = self.feed.decoder.needs_snapshot()
        if not needed:
            return
        for symbol in needed:
            if symbol not in self._tasks:
                task = asyncio.create_task(self._fetch(symbol), name=f"snapshot-{symbol}")
                self._tasks[symbol] = task
                task.add_done_callback(functools.partial(self._done, symbol))

    def _done(self, symbol: str, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(symbol, None)

    def rewrite(self, url: str) -> str:
        if not self.base:
            return url
        parts = urlsplit(url)
        return self.base + url[len(f"{parts.scheme}://{parts.netloc}") :]

    async def _get(self, url: str) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        async with self._session.get(self.rewrite(url)) as response:
            response.raise_for_status()
            return await response.read()

    async def _fetch(self, symbol: str) -> None:
        feed = self.feed
        attempt = 0
        while True:
            decoder = feed.decoder
            if symbol not in decoder.needs_snapshot():
                return
            try:
                for url in decoder.snapshot_urls([symbol]):
                    body = await self._get(url)
                    if feed.decoder is not decoder:  # resynced meanwhile: this book is gone
                        break
                    try:
                        events = decoder.apply_snapshot(url, body, time.time_ns())
                    except DecodeError as exc:
                        feed.handler.reject(body, exc.reason, exc.detail)
                        raise
                    except Exception as exc:  # a decoder bug: counted, and fetched again
                        feed.handler.reject(body, f"internal:{type(exc).__name__}", str(exc))
                        raise DecodeError(f"internal:{type(exc).__name__}", str(exc)) from exc
                    self.fetched += 1
                    if events:
                        feed.emit(events)
                return
            except (aiohttp.ClientError, TimeoutError, DecodeError, OSError) as exc:
                self.failed += 1
                attempt += 1
                delay = self.backoff.random() * self.backoff.ceiling(attempt)
                log.warning(
                    "%s: snapshot of %s failed (%s); retry in %.2fs",
                    feed.stream,
                    symbol,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
