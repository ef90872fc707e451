"""What the connection-holding byte sources (tcp, websocket) share: the reconnect loop.

One ``_session`` per connection; between sessions a capped exponential backoff with full jitter
(:class:`~ingest.sources.backoff.Backoff`) that ``stop()`` cuts short. A session that gets a
connection up calls :meth:`ReconnectingSource._connected`, which counts it (``connections``, and
``stats.reconnects`` from the second on). The source's REST snapshot fetcher, if any, is closed
when ``run()`` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from typing import Any, Protocol, TypeVar, cast

import msgspec

from ingest.sources.backoff import Backoff
from ingest.sources.base import Emit, Source
from ingest.sources.bytefeed import ByteFeed, FeedAttributes, SnapshotFetcher
from pipelines.spec import SourceSpec

__all__ = ["ReconnectingSource"]


class _FeedParams(Protocol):
    """The params fields every reconnecting source has (same names, same meaning)."""

    @property
    def symbols(self) -> list[str]: ...
    @property
    def protocol_params(self) -> dict[str, Any]: ...
    @property
    def snapshot_base(self) -> str: ...
    @property
    def backoff_initial(self) -> float: ...
    @property
    def backoff_max(self) -> float: ...


P = TypeVar("P", bound=msgspec.Struct)


class ReconnectingSource(FeedAttributes, Source[P]):
    """A byte source that holds one connection at a time and reconnects when it drops."""

    def __init__(self, name: str, spec: SourceSpec, params: P, emit: Emit) -> None:
        super().__init__(name, spec, params, emit)
        feed_params = cast(_FeedParams, params)
        self.feed = ByteFeed(
            name,
            spec,
            spec.protocol,
            feed_params.protocol_params,
            emit,
            feed_params.symbols or spec.symbols,
        )
        self.backoff = Backoff(feed_params.backoff_initial, feed_params.backoff_max)
        self.snapshots = (
            SnapshotFetcher(self.feed, base=feed_params.snapshot_base)
            if self.feed.uses_rest_snapshots()
            else None
        )
        self.connections = 0
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                await self._session()
                if self._stopping.is_set():
                    break
                delay = self.backoff.next_delay()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        finally:
            if self.snapshots is not None:
                await self.snapshots.close()

    @abstractmethod
    async def _session(self) -> None:
        """One connection: connect, read until it drops (or stop); never raises for a network
        failure (the loop reconnects)."""

    def _connected(self) -> bool:
        """Count a connection that is up; True when it is a reconnect (not the first)."""
        self.backoff.connected()
        self.connections += 1
        if self.connections > 1:
            self.feed.stats.reconnects += 1
            return True
        return False
