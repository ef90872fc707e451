"""``kind="shm"``: publish to this worker's shared-memory ring (``<prefix>-w<index>``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.delivery.base import Routed, Sink, SinkContext
from pipelines.delivery.shm_ring import RingWriter, default_prefix, ring_path
from pipelines.events import encoder
from pipelines.registry import SINKS
from pipelines.spec import SinkSpec

__all__ = ["ShmParams", "ShmSink"]


class ShmParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    prefix: Annotated[str, Meta(max_length=100, pattern=r"^[A-Za-z0-9_.\-]*$")] = ""
    """Ring name prefix; empty: the worker's (env ``TICKERPLANT_SHM_PREFIX``)."""
    slots: Annotated[int, Meta(ge=2, le=16_777_216)] = 16_384
    slot_size: Annotated[int, Meta(ge=64, le=1_048_576, multiple_of=8)] = 2048


@SINKS.register
class ShmSink(Sink[ShmParams]):
    kind: ClassVar[str] = "shm"
    Params: ClassVar[type[msgspec.Struct]] = ShmParams

    def __init__(self, name: str, spec: SinkSpec, params: ShmParams, context: SinkContext) -> None:
        super().__init__(name, spec, params, context)
        prefix = params.prefix or context.shm_prefix or default_prefix()
        self.path = ring_path(prefix, context.worker_index)
        self.writer = RingWriter(self.path, slots=params.slots, slot_size=params.slot_size)

    def publish(self, routed: Routed) -> None:
        selected = self.select(routed)
        sent = self.writer.publish_many(selected, encoder.encode)
        self.dropped += len(selected) - sent  # larger than a slot: counted, never fatal
        self.published += sent

    def close(self) -> None:
        self.writer.close(unlink=True)
