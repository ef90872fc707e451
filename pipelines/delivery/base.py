"""The shape every sink plugin has.

A sink receives ``(topic, event)`` pairs already routed by the worker (the topic is computed once
per event for all sinks) and keeps only those its spec's ``topics`` patterns match. ``publish`` is
called on the pipeline's thread and must never block: a sink that talks to the network queues
(bounded) and counts what it drops.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

import msgspec

from pipelines.events import Event
from pipelines.spec import SinkSpec
from pipelines.topics import matches

__all__ = ["Routed", "Sink", "SinkContext"]

Routed = list[tuple[str, Event]]

P = TypeVar("P", bound=msgspec.Struct)


class SinkContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a sink may need to know about the worker running it."""

    worker_index: int = 0
    shm_prefix: str = ""


class Sink(ABC, Generic[P]):
    """Generic in its params: ``class ShmSink(Sink[ShmParams])`` gets ``self.params`` typed
    ``ShmParams``. ``Params`` names the same struct at run time (a ClassVar cannot hold a type
    variable); ``Registry.register`` refuses a plugin whose two disagree."""

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, name: str, spec: SinkSpec, params: P, context: SinkContext) -> None:
        self.name = name
        self.params = params
        self.context = context
        self.published = 0
        self.dropped = 0
        self.set_topics(spec.topics)

    def set_topics(self, patterns: list[str]) -> None:
        """Replace the topic filter in place (no restart)."""
        self.patterns = tuple(patterns)
        self.match_all = ">" in self.patterns

    def select(self, routed: Routed) -> Routed:
        if self.match_all:
            return routed
        patterns = self.patterns
        return [(t, e) for t, e in routed if any(matches(p, t) for p in patterns)]

    @abstractmethod
    def publish(self, routed: Routed) -> None:
        """Deliver the selected pairs without blocking."""

    def update(self, params: P) -> bool:
        """Take new params in place; False means the caller must replace the sink."""
        return params == self.params

    @property
    def queue_depth(self) -> int:
        return 0

    @abstractmethod
    def close(self) -> None:
        """Release everything (a ring is unlinked)."""
