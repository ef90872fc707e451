"""Sequence numbers and sent messages of a session: in memory or in files.

Files (per session, in ``store_dir``; names from the session id):

- ``<id>.seqnums``: ``next_sender next_target`` as two 20-digit numbers, rewritten in place
  (fixed width: one small ``pwrite`` per change, never a truncation);
- ``<id>.body``: sent messages appended as ``<seq> <length>\\n<bytes>\\n``; read back at start-up
  into an index (a torn last record, from a crash mid-write, is cut off).

Every change is written through to the OS at once (a process crash loses nothing); ``sync()``
fsyncs both files when something changed. The session wrapper calls it once per batch of output,
before the batch is written to the socket: a message the counterparty may have seen is always on
disk, at the price of one fsync per batch rather than per message (see decision 0100).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final, Protocol

__all__ = ["FileStore", "MemoryStore", "SessionStore"]

_SEQ_FORMAT: Final = b"%020d %020d\n"
_SEQ_SIZE: Final = 42


class SessionStore(Protocol):
    next_sender_seq: int
    next_target_seq: int

    def set_next_sender(self, seq: int) -> None: ...
    def set_next_target(self, seq: int) -> None: ...
    def save(self, seq: int, message: bytes) -> None: ...
    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]: ...
    def reset(self) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...


class MemoryStore:
    """The store of a session that need not survive the process."""

    def __init__(self) -> None:
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self._messages: dict[int, bytes] = {}

    def set_next_sender(self, seq: int) -> None:
        self.next_sender_seq = seq

    def set_next_target(self, seq: int) -> None:
        self.next_target_seq = seq

    def save(self, seq: int, message: bytes) -> None:
        self._messages[seq] = message

    def get(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """Stored messages with ``begin <= seq <= end``, in seq order."""
        return [(s, self._messages[s]) for s in sorted(self._messages) if begin <= s <= end]

    def reset(self) -> None:
        self.next_sender_seq = self.next_target_seq = 1
        self._messages.clear()

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass


class FileStore(MemoryStore):
    """A :class:`MemoryStore` whose every change is also written to two files."""

    def __init__(self, directory: str | os.PathLike[str], session_id: str, *, fsync: bool = True):
        super().__init__()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", session_id)
        self.seq_path = folder / f"{stem}.seqnums"
        self.body_path = folder / f"{stem}.body"
        self._fsync = fsync
        self._dirty = False
        self._seq_fd = os.open(self.seq_path, os.O_RDWR | os.O_CREAT, 0o644)
        self._body_fd = os.open(self.body_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self._load()

    def _load(self) -> None:
        text = os.pread(self._seq_fd, _SEQ_SIZE, 0).split()
        if len(text) == 2 and all(part.isdigit() for part in text):
            self.next_sender_seq, self.next_target_seq = int(text[0]), int(text[1])
        else:
            self._write_seqnums()
        data = self.body_path.read_bytes()
        position = 0
        while position < len(data):
            newline = data.find(b"\n", position)
            head = data[position:newline].split() if newline >= 0 else []
            if len(head) != 2 or not all(part.isdigit() for part in head):
                break
            seq, length = int(head[0]), int(head[1])
            start = newline + 1
            if start + length + 1 > len(data) or data[start + length] != 10:
                break
            self._messages[seq] = data[start : start + length]
            position = start + length + 1
        if position < len(data):  # a torn tail: the record being written when we stopped
            os.ftruncate(self._body_fd, position)

    def _write_seqnums(self) -> None:
        os.pwrite(self._seq_fd, _SEQ_FORMAT % (self.next_sender_seq, self.next_target_seq), 0)
        self._dirty = True

    def set_next_sender(self, seq: int) -> None:
        self.next_sender_seq = seq
        self._write_seqnums()

    def set_next_target(self, seq: int) -> None:
        self.next_target_seq = seq
        self._write_seqnums()

    def save(self, seq: int, message: bytes) -> None:
        self._messages[seq] = message
        os.write(self._body_fd, b"%d %d\n" % (seq, len(message)) + message + b"\n")
        self._dirty = True

    def reset(self) -> None:
        super().reset()
        os.ftruncate(self._body_fd, 0)
        self._write_seqnums()

    def sync(self) -> None:
        if self._dirty and self._fsync:
            os.fsync(self._seq_fd)
            os.fsync(self._body_fd)
        self._dirty = False

    def close(self) -> None:
        if self._seq_fd >= 0:
            self.sync()
            os.close(self._seq_fd)
            os.close(self._body_fd)
            self._seq_fd = self._body_fd = -1
