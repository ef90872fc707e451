"""A shared-memory ring: one writer, many readers, fixed slots, a seqlock per slot.

The ring is a file under ``/dev/shm`` (``<prefix>-w<worker index>``) mapped by every process;
readers never write to it, so any number can attach and leave without coordinating (unlike
``multiprocessing.shared_memory``, whose resource tracker unlinks or warns when readers exit).

Layout, little-endian::

    header (64 bytes): magic "TPRING01", layout u32, slots u32, slot_size u32, header u32,
                       head u64 (seq of the last complete record), writer pid u64
    slot k (slot_size bytes each): seq u64, payload length u32, topic length u16, pad u16,
                       topic bytes, payload bytes

Record ``seq`` (from 1) lives in slot ``(seq - 1) % slots``. The writer first marks the slot
invalid (seq 0), writes the record, then its seq, then the head. A reader copies a record and
re-reads the slot's seq: if it changed, the writer lapped it mid-copy and the record is counted as
lost (``overruns``), never returned torn.
"""

from __future__ import annotations

import contextlib
import glob
import mmap
import os
import struct
from collections.abc import Callable, Iterable
from typing import Any, Final

__all__ = [
    "DEFAULT_PREFIX",
    "SHM_DIR",
    "RingReader",
    "RingWriter",
    "default_prefix",
    "ring_path",
    "ring_paths",
]

SHM_DIR: Final = "/dev/shm"
DEFAULT_PREFIX: Final = "tickerplant"
_MAGIC: Final = b"TPRING01"
_LAYOUT: Final = 1
_HEADER: Final = struct.Struct("<8sIIIIQQ")  # magic, layout, slots, slot size, header, head, pid
_HEADER_SIZE: Final = 64
_HEAD_OFFSET: Final = 24
_U64: Final = struct.Struct("<Q")
_SLOT_META: Final = struct.Struct("<IH")  # payload length, topic length (after the u64 seq)
_SLOT_START: Final = struct.Struct("<QIH2x")  # seq (0 while written), the meta, the pad
_SLOT_HEADER: Final = 16


def default_prefix() -> str:
    return os.environ.get("TICKERPLANT_SHM_PREFIX") or DEFAULT_PREFIX


def ring_path(prefix: str, worker_index: int) -> str:
    if "/" in prefix or not prefix:
        raise ValueError(f"bad shared-memory prefix {prefix!r}")
    return f"{SHM_DIR}/{prefix}-w{worker_index}"


def ring_paths(prefix: str) -> list[str]:
    """The rings of every worker under ``prefix``, by worker index."""
    paths = glob.glob(f"{SHM_DIR}/{glob.escape(prefix)}-w*")
    indexed = [(p.rsplit("-w", 1)[1], p) for p in paths]
    return [p for index, p in sorted((int(i), p) for i, p in indexed if i.isdigit())]


class RingWriter:
    """The single writer of a ring; creates (or atomically replaces) the file."""

    def __init__(self, path: str, slots: int = 16_384, slot_size: int = 1024) -> None:
        if slots < 2 or slot_size < 64 or slot_size % 8:
            raise ValueError("need slots >= 2 and a slot_size >= 64, a multiple of 8")
        self.path = path
        self.slots = slots
        self.slot_size = slot_size
        self.max_record = slot_size - _SLOT_HEADER
        size = _HEADER_SIZE + slots * slot_size
        # Built under a temporary name and renamed over ``path``: a reader still mapping a previous
        # writer's ring (a restarted worker) keeps its old, intact file instead of seeing it
        # truncated under it, which would raise SIGBUS in the reader's process.
        temporary = f"{path}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE)
            self._inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        self._head = 0
        self.published = 0
        self.oversized = 0
        self.unencodable = 0
        # Magic goes in last: a reader that sees it sees a complete header.
        _HEADER.pack_into(
            self._map, 0, b"\0" * 8, _LAYOUT, slots, slot_size, _HEADER_SIZE, 0, os.getpid()
        )
        self._map[0:8] = _MAGIC
        os.replace(temporary, path)

    @property
    def head(self) -> int:
        return self._head

    def publish(self, topic: str, payload: bytes) -> int:
        """Write one record and return its seq; raises ValueError if it exceeds a slot."""
        topic_bytes = topic.encode()
        topic_len = len(topic_bytes)
        end = _SLOT_HEADER + topic_len + len(payload)
        if end > self.slot_size:
            self.oversized += 1
            raise ValueError(f"record of {end} bytes exceeds the slot size {self.slot_size}")
        seq = self._head + 1
        m = self._map
        offset = _HEADER_SIZE + ((seq - 1) % self.slots) * self.slot_size
        _U64.pack_into(m, offset, 0)  # invalid while the record is being written
        _SLOT_META.pack_into(m, offset + 8, len(payload), topic_len)
        start = offset + _SLOT_HEADER
        m[start : start + topic_len] = topic_bytes
        m[start + topic_len : offset + end] = payload
        _U64.pack_into(m, offset, seq)
        _U64.pack_into(m, _HEAD_OFFSET, seq)
        self._head = seq
        self.published += 1
        return seq

    def publish_many(
        self, records: Iterable[tuple[str, Any]], encode: Callable[[Any], bytes] | None = None
    ) -> int:
        """Write ``(topic, payload)`` records in order (with ``encode``, ``(topic, item)`` and
        ``encode(item)`` is the payload) and return how many were written; a record larger than
        a slot is skipped and counted in ``oversized``, one ``encode`` refuses (an int past
        msgpack's range) in ``unencodable``: the rest of the batch is written.

        Each record is written as :meth:`publish` does (its seq zeroed first, then its body,
        then its seq), with one pack for the slot's header; the head moves once, after the
        last record: readers see the batch when it is complete.
        """
        m = self._map
        slots, slot_size = self.slots, self.slot_size
        pack_start, pack_seq = _SLOT_START.pack_into, _U64.pack_into
        head = seq = self._head
        for topic, item in records:
            try:
                payload = item if encode is None else encode(item)
            except (OverflowError, TypeError, ValueError):
                self.unencodable += 1
                continue
            topic_bytes = topic.encode()
            topic_len = len(topic_bytes)
            end = _SLOT_HEADER + topic_len + len(payload)
            if end > slot_size:
                self.oversized += 1
                continue
            seq += 1
            offset = _HEADER_SIZE + ((seq - 1) % slots) * slot_size
            pack_start(m, offset, 0, len(payload), topic_len)  # invalid while being written
            m[offset + _SLOT_HEADER : offset + end] = topic_bytes + payload
            pack_seq(m, offset, seq)
        if seq != head:
            pack_seq(m, _HEAD_OFFSET, seq)
            self._head = seq
            self.published += seq - head
        return seq - head

    def close(self, unlink: bool = True) -> None:
        if not self._map.closed:
            self._map.close()
        if unlink:
            # Only our own file: a successor writer may already have replaced it.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == self._inode:
                    os.unlink(self.path)


class RingReader:
    """Reads records after the writer; ``from_start`` begins at the oldest record still held,
    otherwise only records published after the reader attached are returned."""

    def __init__(self, path: str, from_start: bool = False) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        magic, layout, slots, slot_size, header, head, pid = _HEADER.unpack_from(self._map, 0)
        if magic != _MAGIC or layout != _LAYOUT:
            self._map.close()
            raise ValueError(f"{path} is not a ready ring (magic {magic!r}, layout {layout})")
        self.path = path
        self.slots = slots
        self.slot_size = slot_size
        self.writer_pid = pid
        self._header = header
        self.next_seq = max(1, head - slots + 1) if from_start else head + 1
        self.overruns = 0

    @property
    def head(self) -> int:
        return int(_U64.unpack_from(self._map, _HEAD_OFFSET)[0])

    def poll(self, max_records: int = 1024) -> list[tuple[int, str, bytes]]:
        """Up to ``max_records`` complete records ``(seq, topic, payload)``, oldest first."""
        m = self._map
        slots, slot_size, header = self.slots, self.slot_size, self._header
        unpack_u64, unpack_meta = _U64.unpack_from, _SLOT_META.unpack_from
        out: list[tuple[int, str, bytes]] = []
        head = unpack_u64(m, _HEAD_OFFSET)[0]
        nxt = self.next_seq
        if head - nxt + 1 > slots:  # lapped while we were away
            self.overruns += head - slots + 1 - nxt
            nxt = head - slots + 1
        while nxt <= head and len(out) < max_records:
            offset = header + ((nxt - 1) % slots) * slot_size
            seq = unpack_u64(m, offset)[0]
            if seq == nxt:
                payload_len, topic_len = unpack_meta(m, offset + 8)
                start = offset + _SLOT_HEADER
                end = start + topic_len + payload_len
                if end <= offset + slot_size:
                    topic = m[start : start + topic_len]
                    payload = m[start + topic_len : end]
                    if unpack_u64(m, offset)[0] == nxt:  # not rewritten while we copied
                        out.append((nxt, topic.decode(), payload))
                        nxt += 1
                        continue
            elif seq < nxt and seq != 0:
                break  # not published yet (cannot happen for nxt <= head, but stay safe)
            # Overwritten by a newer lap: skip to the oldest record that may still be intact.
            head = unpack_u64(m, _HEAD_OFFSET)[0]
            skip_to = max(nxt + 1, head - slots + 2)
            self.overruns += skip_to - nxt
            nxt = skip_to
        self.next_seq = nxt
        return out

    def close(self) -> None:
        if not self._map.closed:
            self._map.close()
