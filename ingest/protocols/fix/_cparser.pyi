"""Type stub of the compiled twin of :mod:`ingest.protocols.fix.parser` (``_cparser.pyx``)."""

from typing_extensions import disjoint_base

from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.parser import FixParser

@disjoint_base
class Parser:
    """The compiled ``FixParser.parse`` for one parser (its dictionary and options)."""

    def __init__(self, reference: FixParser) -> None: ...
    def parse(self, data: bytes) -> FixMessage: ...
