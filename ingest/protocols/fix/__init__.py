"""FIX tag=value protocol: FIX 4.2, 4.4 and 5.0SP2/FIXT.1.1 market data and reference data.

Importing this package registers the ``fix`` plugin in :data:`pipelines.registry.PROTOCOLS`.
Layers, each usable alone: :mod:`.dictionary` (QuickFIX XML → cached tables), :mod:`.parser`
(bytes → :class:`FixMessage`, BodyLength/CheckSum checked), :mod:`.validate` (dictionary checks
with SessionRejectReason codes, for a session layer), :mod:`.normalize` (messages → events),
:mod:`.encoder` (events → messages), :mod:`.framing` (stream and line framing).
"""

from ingest.protocols.fix.dictionary import FixDictionary, builtin_dictionary, load_dictionary
from ingest.protocols.fix.encoder import FixEncoder
from ingest.protocols.fix.framing import FixFramer, iter_lines
from ingest.protocols.fix.message import REJECT_REASONS, FieldError, FixMessage
from ingest.protocols.fix.normalize import FixNormalizer
from ingest.protocols.fix.parser import FixParser, checksum
from ingest.protocols.fix.plugin import FixDecoder, FixParams
from ingest.protocols.fix.timestamps import format_utc_timestamp, parse_fix_time
from ingest.protocols.fix.validate import validate

__all__ = [
    "REJECT_REASONS",
    "FieldError",
    "FixDecoder",
    "FixDictionary",
    "FixEncoder",
    "FixFramer",
    "FixMessage",
    "FixNormalizer",
    "FixParams",
    "FixParser",
    "builtin_dictionary",
    "checksum",
    "format_utc_timestamp",
    "iter_lines",
    "load_dictionary",
    "parse_fix_time",
    "validate",
]
