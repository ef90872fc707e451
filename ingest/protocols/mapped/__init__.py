"""Mapped protocols: JSON frames and CSV/TSV rows decoded by a declarative venue mapping.

A mapping (``ingest/mappings/<venue>.toml``, documented in ``docs/mappings.md``) routes each frame
to a message kind and says where every field lives; adding a venue takes only a mapping file.
Importing this package registers the ``json`` and ``csv`` plugins in
:data:`pipelines.registry.PROTOCOLS`.
"""

from __future__ import annotations

from .context import DecoderStats
from .csv_decoder import MappedCsvDecoder
from .engine import MappedEngine
from .json_decoder import MappedJsonDecoder, MappedParams
from .schema import Mapping, MappingError, load_mapping, loads_mapping

__all__ = [
    "DecoderStats",
    "MappedCsvDecoder",
    "MappedEngine",
    "MappedJsonDecoder",
    "MappedParams",
    "Mapping",
    "MappingError",
    "load_mapping",
    "loads_mapping",
]
