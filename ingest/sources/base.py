"""The shape every source plugin has.

A source is built with its spec name, its :class:`~pipelines.spec.SourceSpec`, its validated
``Params`` and an ``emit`` callback. ``run()`` produces events until ``stop()``; it hands them over
in batches (one call per venue packet or simulator slice, never one per event) and never awaits
per event. ``emit`` is synchronous: the worker processes the whole batch before it returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

import msgspec

from pipelines.events import Event
from pipelines.spec import SourceSpec

__all__ = ["Emit", "Source"]

Emit = Callable[[list[Event]], None]

P = TypeVar("P", bound=msgspec.Struct)


class Source(ABC, Generic[P]):
    """Generic in its params: ``class TcpSource(ReconnectingSource[TcpParams])`` gets
    ``self.params`` typed ``TcpParams``. ``Params`` names the same struct at run time (a ClassVar
    cannot hold a type variable); ``Registry.register`` refuses a plugin whose two disagree."""

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, name: str, spec: SourceSpec, params: P, emit: Emit) -> None:
        self.name = name
        self.spec = spec
        self.params = params
        self.emit = emit

    @property
    def stream(self) -> str:
        """The stream id stamped on every event: the source's name in the spec."""
        return self.name

    @abstractmethod
    async def run(self) -> None:
        """Produce events until :meth:`stop` is called (or the input ends)."""

    def update(self, params: P) -> bool:
        """Take new params in place; False means the caller must restart the source."""
        return False

    @abstractmethod
    async def stop(self) -> None:
        """Stop producing; ``run()`` returns soon after."""
