"""The shared-memory ring: one writer, readers in other processes, overruns detected, no torn
records, and the file is gone once the writer closes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest

from pipelines.delivery.shm_ring import RingReader, RingWriter, ring_path, ring_paths


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"tp-test-ring-{uuid.uuid4().hex[:10]}"
    yield name
    for path in ring_paths(name):
        os.unlink(path)


def writer_process(path: str, count: int, slots: int, pace: bool) -> subprocess.Popen[bytes]:
    """A separate process that writes ``count`` self-checking records: payload = seq repeated."""
    code = textwrap.dedent(
        f"""
        import struct, time
        from pipelines.delivery.shm_ring import RingWriter
        writer = RingWriter({path!r}, slots={slots}, slot_size=256)
        print("ready", flush=True)
        input()
        for seq in range(1, {count} + 1):
            writer.publish("md.sim.X.trade", struct.pack("<Q", seq) * (1 + seq % 20))
            if {pace} and seq % 100 == 0:
                time.sleep(0.001)
        print("done", flush=True)
        input()
        writer.close()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def check(record: tuple[int, str, bytes]) -> None:
    seq, topic, payload = record
    assert topic == "md.sim.X.trade"
    assert payload == struct.pack("<Q", seq) * (1 + seq % 20), f"torn record {seq}"


@pytest.mark.timeout(60)
def test_a_reader_in_another_process_sees_every_record_in_order(prefix: str) -> None:
    path = ring_path(prefix, 0)
    proc = writer_process(path, count=5000, slots=8192, pace=True)
    reader = RingReader(path)
    assert reader.writer_pid == proc.pid
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    records: list[tuple[int, str, bytes]] = []
    deadline = time.monotonic() + 30
    while len(records) < 5000 and time.monotonic() < deadline:
        records.extend(reader.poll(1000))
    assert [r[0] for r in records] == list(range(1, 5001))
    for record in records:
        check(record)
    assert reader.overruns == 0
    proc.communicate(b"exit\n", timeout=10)  # also closes the pipes
    assert proc.returncode == 0
    reader.close()
    assert not os.path.exists(path)


@pytest.mark.timeout(60)
def test_a_reader_lapped_by_a_fast_writer_never_sees_a_torn_record(prefix: str) -> None:
    path = ring_path(prefix, 0)
    proc = writer_process(path, count=200_000, slots=64, pace=False)
    reader = RingReader(path)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    returned = 0
    last = 0
    while reader.next_seq <= 200_000:
        for record in reader.poll(16):
            check(record)
            assert record[0] > last
            last = record[0]
            returned += 1
    assert proc.stdout.readline() == b"done\n"
    # Everything is accounted for: returned or counted as lost, none twice.
    assert returned + reader.overruns == 200_000
    assert reader.overruns > 0
    proc.communicate(b"exit\n", timeout=10)  # also closes the pipes
    assert proc.returncode == 0


def test_a_reader_that_fell_behind_counts_what_it_lost(prefix: str) -> None:
    writer = RingWriter(ring_path(prefix, 0), slots=16, slot_size=64)
    reader = RingReader(writer.path)
    for i in range(100):
        writer.publish("t", bytes([i]))
    records = reader.poll(1000)
    assert [seq for seq, _, _ in records] == list(range(85, 101))
    assert reader.overruns == 84
    assert records[-1] == (100, "t", bytes([99]))
    writer.close()


def test_a_slot_being_rewritten_is_skipped_not_returned(prefix: str) -> None:
    writer = RingWriter(ring_path(prefix, 0), slots=8, slot_size=64)
    reader = RingReader(writer.path, from_start=True)
    for i in range(4):
        writer.publish("t", b"ok%d" % i)
    # What a writer that stopped in the middle of a record leaves behind: seq 0, half a payload.
    slot = writer._map
    offset = 64 + 2 * 64  # record 3 lives in slot 2
    struct.pack_into("<Q", slot, offset, 0)
    slot[offset + 16 : offset + 19] = b"XXX"
    records = reader.poll(10)
    assert [seq for seq, _, _ in records] == [1, 2, 4]
    assert reader.overruns == 1
    writer.close()


def test_records_larger_than_a_slot_are_refused(prefix: str) -> None:
    writer = RingWriter(ring_path(prefix, 0), slots=4, slot_size=64)
    with pytest.raises(ValueError):
        writer.publish("topic", b"x" * 64)
    assert writer.oversized == 1
    writer.close()


def test_a_new_reader_starts_at_the_head_and_close_unlinks(prefix: str) -> None:
    writer = RingWriter(ring_path(prefix, 3), slots=4, slot_size=64)
    writer.publish("t", b"old")
    reader = RingReader(writer.path)
    assert reader.poll() == []
    writer.publish("t", b"new")
    assert reader.poll() == [(2, "t", b"new")]
    assert ring_paths(prefix) == [writer.path]
    reader.close()
    assert os.path.exists(writer.path)  # readers never unlink
    writer.close()
    assert not os.path.exists(writer.path)
    assert ring_paths(prefix) == []


def test_a_restarted_writer_replaces_the_file_without_truncating_it_under_readers(
    prefix: str,
) -> None:
    # A worker restarted by the supervisor opens its ring again while the gateway still maps the
    # old one: the old mapping must stay whole (truncating it would SIGBUS the reader), and the
    # dead writer's late close must not unlink the successor's file.
    path = ring_path(prefix, 0)
    first = RingWriter(path, slots=4, slot_size=64)
    old_reader = RingReader(path, from_start=True)
    first.publish("t", b"before")

    second = RingWriter(path, slots=4, slot_size=64)
    assert old_reader.poll() == [(1, "t", b"before")]  # still readable, no SIGBUS
    second.publish("t", b"after")
    assert RingReader(path, from_start=True).poll() == [(1, "t", b"after")]

    first.close()
    assert os.path.exists(path), "the old writer's close left the new ring alone"
    second.close()
    assert not os.path.exists(path)
    assert os.listdir("/dev/shm") == [n for n in os.listdir("/dev/shm") if prefix not in n]
