"""The on-disk store of sequence numbers and sent messages, and the two parser/framer options
the session layer added (trust the BodyLength; keep negative tags for a Reject)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.base import DecodeError
from ingest.protocols.fix import FixFramer, FixParser
from ingest.protocols.fix.session import FileStore, MemoryStore


@pytest.mark.parametrize("fsync", [True, False])
def test_file_store_survives_reopening(tmp_path: Path, fsync: bool) -> None:
    store = FileStore(tmp_path, "FIX.4.4:ISLD->TW44", fsync=fsync)
    store.save(1, b"8=FIX.4.4\x01first\x01")
    store.save(2, b"second\nwith newline")
    store.set_next_sender(3)
    store.set_next_target(7)
    store.sync()
    store.close()
    again = FileStore(tmp_path, "FIX.4.4:ISLD->TW44")
    assert (again.next_sender_seq, again.next_target_seq) == (3, 7)
    assert again.get(1, 2) == [(1, b"8=FIX.4.4\x01first\x01"), (2, b"second\nwith newline")]
    assert again.get(2, 9) == [(2, b"second\nwith newline")]


def test_file_store_cuts_a_torn_tail(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "s")
    store.save(1, b"whole")
    store.close()
    body = tmp_path / "s.body"
    body.write_bytes(body.read_bytes() + b"2 100\npartial")
    again = FileStore(tmp_path, "s")
    assert again.get(1, 5) == [(1, b"whole")]
    assert body.read_bytes() == b"1 5\nwhole\n"


def test_reset_starts_again_at_one(tmp_path: Path) -> None:
    for store in (FileStore(tmp_path, "s"), MemoryStore()):
        store.save(1, b"x")
        store.set_next_sender(2)
        store.reset()
        assert (store.next_sender_seq, store.next_target_seq, store.get(1, 9)) == (1, 1, [])


def _frame(body: str, length: int | None = None) -> bytes:
    payload = body.replace("|", "\x01").encode()
    head = b"8=FIX.4.4\x019=%d\x01" % (len(payload) if length is None else length) + payload
    return head + b"10=%03d\x01" % (sum(head) % 256)


def test_trusted_body_length_swallows_what_a_too_long_length_covers() -> None:
    lying = _frame("35=0|34=4|", length=40)
    good = _frame("35=0|34=5|")
    frames = FixFramer(trust_body_length=True).feed(lying + good)
    assert frames == [lying + good]  # one frame, which the parser rejects
    with pytest.raises(DecodeError):
        FixParser().parse(frames[0])
    assert FixFramer().feed(lying + good) == [good]  # the default resyncs instead


def test_trusted_body_length_waits_for_the_trailer() -> None:
    framer = FixFramer(trust_body_length=True)
    message = _frame("35=0|34=2|")
    assert framer.feed(message[:-3]) == []
    assert framer.feed(message[-3:]) == [message]


def test_negative_tags_kept_on_request() -> None:
    raw = _frame("35=0|34=2|-1=HI|")
    with pytest.raises(DecodeError):
        FixParser().parse(raw)
    assert FixParser(keep_negative_tags=True).parse(raw).get("-1") == "HI"
