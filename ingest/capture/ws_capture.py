"""Reader of the timestamped WebSocket/REST capture text (cryptofeed's raw-data recorder format).

One record per line (see ``shared/data/ws/README.txt``)::

    <ws url> <-> <unix_ts>              connection opened            direction "open"
    <ws url> <- <unix_ts>: <json>       sent by the client           direction "send"
    <unix_ts>: <json>                   one received frame           direction "recv"
    <https url> -> <unix_ts>: <json>    a REST response (.http)      direction "http"

Times are float seconds as text; they are converted to integer nanoseconds exactly (no float).
A received frame has no URL of its own: it belongs to the connection opened last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, Protocol

from ingest.protocols.base import DecodeError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipelines.events import Event

__all__ = [
    "CaptureRecord",
    "WsCaptureReader",
    "decode_ws_captures",
    "is_ws_capture",
    "parse_ts_ns",
    "read_ws_capture",
]

Direction = Literal["open", "send", "recv", "http"]

_TS: Final = rb"\d{9,11}(?:\.\d+)?"
_DETECT: Final = re.compile(
    rb"^(?:\S+ <-> " + _TS + rb"\s*$|\S+ <- " + _TS + rb": |\S+ -> " + _TS + rb": |" + _TS + rb": )"
)
_ARROWS: Final = {b"<->": "open", b"<-": "send", b"->": "http"}


class CaptureRecord(NamedTuple):
    ts_recv_ns: int
    direction: Direction
    url: str
    payload: bytes


def parse_ts_ns(text: bytes | str) -> int:
    """``b"1633998512.0633569"`` -> 1633998512063356900, exactly; ValueError when not a time."""
    raw = text.decode("ascii") if isinstance(text, bytes) else text
    whole, _, frac = raw.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a unix timestamp: {raw!r}")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def is_ws_capture(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) looks like this capture format."""
    for line in head.splitlines()[:3]:
        if line.strip():
            return _DETECT.match(line) is not None
    return False


class WsCaptureReader:
    """Iterate the records of a capture; malformed lines are skipped, counted in ``malformed``."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._lines = lines
        self.malformed = 0
        self.url = ""

    def __iter__(self) -> Iterator[CaptureRecord]:
        for line in self._lines:
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            record = self._parse(line)
            if record is None:
                self.malformed += 1
            else:
                yield record

    def _parse(self, line: bytes) -> CaptureRecord | None:
        try:
            if line[:1].isdigit():
                ts, sep, payload = line.partition(b": ")
                if not sep:
                    return None
                return CaptureRecord(parse_ts_ns(ts), "recv", self.url, payload)
            url, arrow, rest = line.split(b" ", 2)
            direction = _ARROWS.get(arrow)
            if direction is None:
                return None
            if direction == "open":
                self.url = url.decode()
                return CaptureRecord(parse_ts_ns(rest), "open", self.url, b"")
            ts, sep, payload = rest.partition(b": ")
            if not sep:
                return None
            return CaptureRecord(parse_ts_ns(ts), direction, url.decode(), payload)  # type: ignore[arg-type]
        except (ValueError, UnicodeDecodeError):
            return None


def read_ws_capture(path: str | Path) -> Iterator[CaptureRecord]:
    """Every record of the capture file at ``path``, in file order."""
    with open(path, "rb") as handle:
        yield from WsCaptureReader(handle)


class SnapshotDecoder(Protocol):
    """A mapped decoder's two entry points: stream frames and REST snapshot responses."""

    def decode(self, data: bytes, ts_recv: int) -> Sequence[Event]: ...

    def apply_snapshot(self, url: str, body: bytes, ts_recv: int) -> Sequence[Event]: ...


def decode_ws_captures(
    decoder: SnapshotDecoder, paths: Iterable[str | Path]
) -> Iterator[list[Event]]:
    """A recorded session through ``decoder``: the events of each received frame and of each
    recorded REST response, one list per record, in receive-time order across ``paths`` (ties keep
    file order). Frames the decoder rejects are skipped (its own stats count them)."""
    records = sorted(
        (record for path in paths for record in read_ws_capture(path)),
        key=lambda record: record.ts_recv_ns,
    )
    for record in records:
        try:
            if record.direction == "recv":
                events = decoder.decode(record.payload, record.ts_recv_ns)
            elif record.direction == "http":
                events = decoder.apply_snapshot(record.url, record.payload, record.ts_recv_ns)
            else:
                continue
        except DecodeError:
            continue
        yield list(events)
