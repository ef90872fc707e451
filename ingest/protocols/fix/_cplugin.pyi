"""Type stub of the compiled twin of ``FixDecoder.decode`` (``_cplugin.pyx``)."""

from typing_extensions import disjoint_base

from ingest.protocols.fix._cnormalize import Normalizer
from ingest.protocols.fix._cparser import Parser
from ingest.protocols.fix.plugin import FixDecoder
from pipelines.events import Event

@disjoint_base
class Decoder:
    """W and X bytes straight to events; everything else through the compiled two steps."""

    @property
    def fused_messages(self) -> int: ...  # messages decoded straight from the bytes
    def __init__(self, reference: FixDecoder, parser: Parser, normalizer: Normalizer) -> None: ...
    def decode(self, data: bytes, ts_recv: int) -> list[Event]: ...
