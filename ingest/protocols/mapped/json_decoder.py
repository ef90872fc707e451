"""The ``json`` protocol plugin: WebSocket/NDJSON frames decoded through a venue mapping.

This module is the reference implementation. When its compiled twin (``_cjson_decoder.pyx`` and
the ``_cjson_*`` modules it cimports, docs/decisions/0116) is built and
``TICKERPLANT_PURE_PYTHON`` is not set, ``decode`` runs the twin, which gives the same events,
errors and state, and hands every frame it does not handle to the code below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ingest.protocols.base import Sequencer
from pipelines import accel
from pipelines.events import Event
from pipelines.registry import PROTOCOLS

from .plugin import MappedDecoder, MappedParams
from .schema import Mapping

if TYPE_CHECKING:
    from ._cjson_decoder import FastPath

__all__ = ["MappedJsonDecoder", "MappedParams"]


# Chosen once at import; None runs the Python code (tests swap it to compare both paths).
_compiled = accel.load("ingest.protocols.mapped._cjson_decoder")


@PROTOCOLS.register
class MappedJsonDecoder(MappedDecoder):
    """Frames (bytes) -> events, by the venue's mapping."""

    kind: ClassVar[str] = "json"

    def __init__(
        self,
        stream: str,
        params: MappedParams | Mapping,
        sequencer: Sequencer | None = None,
    ) -> None:
        super().__init__(stream, params, sequencer)
        # The same exact JSON reader as the REST snapshots' (the base class's).
        self._frame = self._snapshot_frame
        fast = _compiled.fast_path(self.engine, self._frame) if _compiled is not None else None
        #: The compiled twin ``decode`` runs (None: pure Python, or a mapping whose routing the
        #: twin does not compile). ``accelerator.compiled`` says which messages it handles
        #: itself and ``accelerator.fallbacks`` how many frames it gave to the code below.
        self.accelerator: FastPath | None = fast
        self.accelerated = fast is not None
        if fast is not None:
            # The bound C method itself: no Python frame between the caller and the twin.
            self.decode = fast.decode  # type: ignore[method-assign]

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        return self.engine.process(self._frame(data), ts_recv)
