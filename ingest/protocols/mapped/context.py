"""What every message handler of one decoder shares: stream, sequencer, scales, counters."""

from __future__ import annotations

from typing import Any

import msgspec

from ingest.protocols.base import INT64_MAX, DecodeError, Sequencer, out_of_range

from .compile import Scales, compile_field
from .numbers import ScaleCache, timestamp_ns
from .paths import MISSING, Getter
from .schema import Field, FieldSpec, Mapping

__all__ = ["Context", "DecoderStats", "compile_int", "compile_symbol", "compile_time"]


class DecoderStats(msgspec.Struct, kw_only=True):
    """Counters of one decoder; none of these is an error for the source to dead-letter."""

    messages: int = 0
    events: int = 0
    ignored: int = 0
    snapshots: int = 0
    stale: int = 0
    gaps: int = 0
    buffered: int = 0
    buffer_overflow: int = 0
    dropped_unsynced: int = 0
    checksums: int = 0
    checksum_mismatches: int = 0


class Context:
    __slots__ = (
        "_caches",
        "mapping",
        "row_errors",
        "scales",
        "sequencer",
        "stats",
        "stream",
        "verify_checksum",
    )

    def __init__(
        self,
        stream: str,
        mapping: Mapping,
        sequencer: Sequencer,
        verify_checksum: bool,
        int_text: bool = False,
    ) -> None:
        self.stream = stream
        self.mapping = mapping
        self.sequencer = sequencer
        self.scales = Scales(mapping, int_text)
        self.stats = DecoderStats()
        self.verify_checksum = verify_checksum
        self._caches: dict[int, ScaleCache] = {}
        #: The rejected rows of the last frame (messages with ``rows``): one DecodeError each,
        #: the frame's other rows went through. Cleared when the next frame starts; the feed
        #: handler counts and dead-letters each one (decision 0127). Always the same list.
        self.row_errors: list[DecodeError] = []

    def scaler(self, decimals: int) -> ScaleCache:
        """The shared memo of decimal strings at ``decimals`` (one per scale, not per symbol)."""
        cache = self._caches.get(decimals)
        if cache is None:
            cache = self._caches[decimals] = ScaleCache(
                decimals, self.scales.scaled, int_text=self.scales.int_text
            )
        return cache


def compile_time(field: Field | None, scope: list[Any] | None = None) -> Getter:
    """Getter of a timestamp in integer ns; 0 when the mapping or the message has none."""
    if field is None:
        return _zero
    spec = FieldSpec(path=field) if isinstance(field, str) else field
    get = compile_field(spec, "ts_exchange", required=False, scope=scope)
    unit = spec.unit

    def get_time(value: Any) -> int:
        found = get(value)
        return 0 if found is MISSING or found is None else timestamp_ns(found, unit)

    return get_time


def compile_int(
    field: Field | None, name: str, required: bool = False, scope: list[Any] | None = None
) -> Getter:
    """Getter of an integer (ids, sequence numbers; digits in strings too); 0 when absent."""
    if field is None:
        return _zero
    get = compile_field(field, name, required=required, scope=scope)

    def get_int(value: Any) -> int:
        found = get(value)
        if found is MISSING or found is None:
            return 0
        if type(found) is not int:
            try:
                found = int(found)
            except (TypeError, ValueError):
                raise DecodeError("bad_integer", f"{name}={found!r:.60}") from None
        if -INT64_MAX <= found <= INT64_MAX:
            return found
        raise out_of_range(name, found)

    return get_int


def compile_symbol(field: Field, scope: list[Any] | None = None) -> Getter:
    get = compile_field(field, "symbol", scope=scope)

    def get_symbol(value: Any) -> str:
        found = get(value)
        if type(found) is str:
            return found
        if type(found) is int:
            return str(found)
        raise DecodeError("bad_symbol", repr(found))

    return get_symbol


def _zero(value: Any) -> int:
    return 0
