"""The input side of replay: detect a capture's format from its content, read its records, build
the decoder, and feed both through one :class:`~ingest.feed.FeedHandler`.

One implementation serves ``python -m pipelines replay`` and the ``replay`` source plugin
(``ingest/sources/replay.py``), so a capture decodes the same way on the command line and in a
worker. Detection (first 64 KiB, first matching rule wins; see docs/replay.md):

1. pcap/pcapng magic → ``pcap``: every UDP payload is one message (one channel: A/B copies are
   arbitrated by the decoder), ``ts_recv`` = capture time;
2. the timestamped capture text of ``shared/data/ws`` → ``ws_capture``: received frames are
   messages, REST responses (``->``) are snapshots, ``ts_recv`` = recorded time;
3. a first line starting with ``{`` or ``[`` → ``ndjson``;
4. ``8=FIX...`` or ``<tag>=<value><SOH or |><tag>=`` → ``fix`` (one message per line);
5. text with ``,``, ``;`` or a tab → ``csv``; anything else → ``lines``.

Formats 3-5 (and ``lines``) are one message per line with no recorded time: ``ts_recv`` is 0.
"""

from __future__ import annotations

import heapq
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec

from ingest.capture.pcap import CaptureError, PcapReader, is_pcap
from ingest.capture.ws_capture import WsCaptureReader, is_ws_capture
from ingest.feed import FeedHandler
from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Status
from pipelines.registry import PROTOCOLS, ParamsError, RegistryError

__all__ = [
    "FORMATS",
    "HEAD_BYTES",
    "CaptureFile",
    "Record",
    "ReplayError",
    "ReplayFeed",
    "ReplayOptions",
    "build_decoder",
    "derive_stream",
    "detect_format",
    "is_cme_schema",
    "merge_snapshots",
    "resolve_protocol",
]

HEAD_BYTES: Final = 64 * 1024
FORMATS: Final = ("pcap", "ws_capture", "ndjson", "fix", "csv", "lines")
TIMED_FORMATS: Final = frozenset({"pcap", "ws_capture"})
_FIX_LINE: Final = re.compile(rb"^(?:8=FIX|\d{1,6}=[^\x01|\n]*[\x01|]\d{1,6}=)")
_STREAM_CHARS: Final = re.compile(r"[^A-Za-z0-9_\-]+")
_GAP_STATES: Final = frozenset({"GAP", "RESYNC"})


class ReplayError(ValueError):
    """Bad arguments or an unusable input: the command exits non-zero with this message."""


class Record(NamedTuple):
    """One message of a capture; ``url`` is set only on a REST snapshot response."""

    ts_recv: int
    payload: bytes
    url: str = ""


def _first_line(head: bytes) -> bytes:
    for line in head.split(b"\n", 64)[:64]:
        line = line.strip(b"\r\n \t")
        if line:
            return line
    return b""


def detect_format(head: bytes) -> str:
    """The format of a file whose first bytes are ``head`` (one of :data:`FORMATS`)."""
    if is_pcap(head):
        return "pcap"
    if is_ws_capture(head):
        return "ws_capture"
    line = _first_line(head)
    if line[:1] in (b"{", b"["):
        return "ndjson"
    if _FIX_LINE.match(line):
        return "fix"
    if line and b"\x00" not in line:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return "lines"
        if any(sep in line for sep in (b",", b";", b"\t")):
            return "csv"
    return "lines"


def derive_stream(path: str | Path) -> str:
    """The stream id of a replayed file: its name up to the first dot, lower-cased, with
    characters outside ``[A-Za-z0-9_-]`` replaced by ``_`` (``BINANCE.ws.1.0`` → ``binance``)."""
    stem = Path(path).name.split(".", 1)[0]
    return _STREAM_CHARS.sub("_", stem).strip("_").lower() or "replay"


class CaptureFile:
    """A capture on disk: its detected format and its records, in file order.

    Opening reads the first :data:`HEAD_BYTES` (``OSError`` when unreadable). Records that are not
    messages (pcap frames without UDP, connection/sent lines, malformed capture lines, a
    truncated last pcap record) are counted in :attr:`skipped`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self.path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        self.format = detect_format(head)
        self.fix_separator = b"|" if self.format == "fix" and b"\x01" not in head else b"\x01"
        self.skipped: Counter[str] = Counter()

    @property
    def timed(self) -> bool:
        """True when records carry their recorded receive time."""
        return self.format in TIMED_FORMATS

    def records(self) -> Iterator[Record]:
        if self.format == "pcap":
            return self._pcap()
        if self.format == "ws_capture":
            return self._ws()
        return self._lines()

    def _pcap(self) -> Iterator[Record]:
        with self.path.open("rb") as handle:
            reader = PcapReader(handle)
            try:
                for datagram in reader:
                    yield Record(datagram.ts_ns, datagram.payload)
            except CaptureError:
                self.skipped["capture_truncated"] += 1
            finally:
                self.skipped.update(reader.skipped)

    def _ws(self) -> Iterator[Record]:
        skipped = self.skipped
        with self.path.open("rb") as handle:
            reader = WsCaptureReader(handle)
            try:
                for record in reader:
                    if record.direction == "recv":
                        yield Record(record.ts_recv_ns, record.payload)
                    elif record.direction == "http":
                        yield Record(record.ts_recv_ns, record.payload, record.url)
                    else:
                        skipped[f"capture_{record.direction}"] += 1
            finally:
                if reader.malformed:
                    skipped["capture_malformed"] += reader.malformed

    def _lines(self) -> Iterator[Record]:
        with self.path.open("rb") as handle:
            for line in handle:
                line = line.rstrip(b"\r\n")
                if line:
                    yield Record(0, line)


def merge_snapshots(stream: CaptureFile, snapshots: CaptureFile | None) -> Iterator[Record]:
    """The stream's records with the snapshot file's REST responses, in receive-time order (a
    tie keeps the stream's record first). A stream without recorded times gets the snapshots
    first. Only the snapshot file's ``->`` records are used."""
    records = stream.records()
    if snapshots is None:
        return records
    responses = (record for record in snapshots.records() if record.url)
    if not stream.timed:
        return chain(responses, records)
    return heapq.merge(records, responses, key=_receive_time)


def _receive_time(record: Record) -> int:
    return record.ts_recv


# -- protocols ----------------------------------------------------------------------------------


class ReplayOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to decode with: a protocol plugin (or ``sbe``), its file options and other params."""

    protocol: str
    dictionary: str = ""
    schema: str = ""
    mapping: str = ""
    params: dict[str, Any] = {}


def is_cme_schema(path: str | Path) -> bool:
    """True for CME MDP 3.0 templates (``messageSchema package="mktdata"``)."""
    try:
        with open(path, "rb") as handle:  # iterparse would leave its own file open on return
            for _event, element in ET.iterparse(handle, events=("start",)):
                return bool(element.attrib.get("package", "") == "mktdata")
    except (OSError, ET.ParseError) as exc:
        raise ReplayError(f"cannot read SBE schema {path}: {exc}") from None
    return False


def resolve_protocol(options: ReplayOptions) -> str:
    """The protocol plugin's kind: ``sbe`` with a CME schema is ``cme_mdp3``; other SBE schemas
    have no generic normalizer (SBE messages carry no event semantics) and are refused."""
    if options.protocol != "sbe":
        return options.protocol
    if not options.schema:
        raise ReplayError("--protocol sbe needs --schema S.xml")
    if is_cme_schema(options.schema):
        return "cme_mdp3"
    raise ReplayError(
        f"{options.schema} is not a CME MDP 3.0 schema (package 'mktdata'): SBE messages of "
        "other schemas have no mapping to events; register a protocol plugin for them"
    )


def protocol_params(options: ReplayOptions) -> tuple[str, msgspec.Struct]:
    """The plugin kind and its validated ``Params`` from the options."""
    kind = resolve_protocol(options)
    raw = dict(options.params)
    for name in ("dictionary", "schema", "mapping"):
        value = getattr(options, name)
        if value:
            raw[name] = value
    try:
        return kind, PROTOCOLS.params(kind, raw)
    except RegistryError as exc:
        raise ReplayError(str(exc).strip("'\"")) from None
    except ParamsError as exc:
        if exc.path in ("dictionary", "schema", "mapping") and "unknown field" in str(exc):
            raise ReplayError(f"--{exc.path} does not apply to protocol {kind!r}") from None
        raise ReplayError(f"protocol parameters: {exc}") from None


def build_decoder(
    options: ReplayOptions, stream: str, sequencer: Sequencer | None = None
) -> tuple[str, Any]:
    """``(kind, decoder)`` for ``stream``; :class:`ReplayError` when it cannot be built."""
    kind, params = protocol_params(options)
    plugin: Any = PROTOCOLS.get(kind)
    try:
        return kind, plugin(stream, params, sequencer or Sequencer(stream))
    except Exception as exc:  # a missing dictionary, a bad mapping: the plugin's own errors
        raise ReplayError(f"cannot build the {kind} decoder: {exc}") from None


def fix_separator_params(options: ReplayOptions, capture: CaptureFile) -> ReplayOptions:
    """FIX logs written with ``|`` instead of SOH decode without a ``separator`` param."""
    if (
        capture.fix_separator == b"|"
        and options.protocol == "fix"
        and "separator" not in options.params
    ):
        return msgspec.structs.replace(options, params={**options.params, "separator": "|"})
    return options


# -- feeding ------------------------------------------------------------------------------------


class ReplayFeed:
    """Records into a :class:`FeedHandler`: messages to ``decode``, REST responses to the
    decoder's ``apply_snapshot`` (counted, rejected and dead-lettered the same way)."""

    __slots__ = ("_apply_snapshot", "feed")

    def __init__(self, feed: FeedHandler) -> None:
        self.feed = feed
        self._apply_snapshot = getattr(feed.decoder, "apply_snapshot", None)

    @property
    def takes_snapshots(self) -> bool:
        return self._apply_snapshot is not None

    def run(self, records: Iterable[Record]) -> None:
        """Feed every record (the whole file, as fast as it reads)."""
        on_message = self.feed.on_message
        on_snapshot = self.on_snapshot
        for ts_recv, payload, url in records:
            if url:
                on_snapshot(url, payload, ts_recv)
            else:
                on_message(payload, ts_recv)

    def on_snapshot(self, url: str, body: bytes, ts_recv: int) -> None:
        feed = self.feed
        stats = feed.stats
        stats.messages += 1
        stats.bytes += len(body)
        if self._apply_snapshot is None:
            feed.reject(body, "snapshot_unsupported", f"{feed.source}: decoder takes no snapshots")
            return
        try:
            events = self._apply_snapshot(url, body, ts_recv)
        except DecodeError as exc:
            feed.reject(body, exc.reason, exc.detail)
            return
        except Exception as exc:  # a decoder bug must not stop the replay
            feed.reject(body, f"internal:{type(exc).__name__}", str(exc))
            return
        if events:
            stats.events += len(events)
            for event in events:
                if type(event) is Status and event.state in _GAP_STATES:
                    stats.gaps += 1
            try:
                feed.emit(events)
            except Exception as exc:  # as FeedHandler.on_message: counted, never raised
                feed.reject(body, f"emit:{type(exc).__name__}", str(exc))
