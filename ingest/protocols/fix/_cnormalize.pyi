"""Type stub of the compiled twin of :mod:`ingest.protocols.fix.normalize` (``_cnormalize.pyx``)."""

from typing_extensions import disjoint_base

from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.normalize import FixNormalizer
from pipelines.events import Event

@disjoint_base
class Normalizer:
    """The compiled ``FixNormalizer.normalize`` on one normalizer's state."""

    def __init__(self, reference: FixNormalizer) -> None: ...
    def normalize(self, message: FixMessage, ts_recv: int) -> list[Event]: ...
