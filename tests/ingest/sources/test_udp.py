"""The udp source: real CME MDP3 packets over multicast feeds A and B in a private network
namespace (the host's interfaces are never touched), and a unicast channel on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from ingest.capture import read_udp
from ingest.protocols.cme_mdp3 import CmeMdp3Decoder, CmeMdp3Params
from ingest.sources.udp import UdpSource, parse_channel
from pipelines.events import Event, Trade
from pipelines.registry import SOURCES, ParamsError
from pipelines.spec import SourceSpec

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
FEED_A, FEED_B = "239.255.10.1:14310", "239.255.10.2:15310"
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be available)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace of our own, with multicast on its loopback and routed to it."""
    name = f"tp-test-{uuid.uuid4().hex[:10]}"
    setup = [
        ["ip", "netns", "add", name],
        ["ip", "-n", name, "link", "set", "lo", "up"],
        ["ip", "-n", name, "link", "set", "lo", "multicast", "on"],
        ["ip", "-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"],
    ]
    try:
        for command in setup:
            subprocess.run(command, check=True, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        unavailable(f"cannot create a network namespace for the multicast test: {exc}")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def run_in_netns(name: str, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario`` in an event loop on a thread that entered namespace ``name``: every
    socket it opens lives there. (setns changes only the calling thread's namespace.)"""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
            finally:
                os.close(fd)
            outcome["value"] = asyncio.run(scenario())
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{name}")
    thread.start()
    thread.join(120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def sender(interface: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    return sock


def address(channel: str) -> tuple[str, int]:
    host, port = channel.rsplit(":", 1)
    return host, int(port)


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.batches = 0

    def __call__(self, batch: list[Event]) -> None:
        self.batches += 1
        self.events.extend(batch)


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_real_cme_packets_over_feeds_a_and_b_decode_like_the_file(
    netns: str, shared_data: Path
) -> None:
    cme = shared_data / "sbe" / "cme-mdp3"
    schema = str(cme / "templates_FixBinary_v8.xml")
    packets = [d.payload for d in read_udp(cme / "v8_samples" / "MdIncrementalRefreshVolume.pcap")]
    reference = CmeMdp3Decoder("cme", CmeMdp3Params(schema=schema))
    expected = [e for p in packets for e in reference.decode(p, 0)]

    collect = Collect()
    spec = SourceSpec(kind="udp", protocol="cme_mdp3", endpoint=f"{FEED_A},{FEED_B}")
    params = SOURCES.params(
        "udp", {"interface": "127.0.0.1", "protocol_params": {"schema": schema}}
    )

    async def scenario() -> UdpSource:
        source = UdpSource("cme", spec, params, collect)
        task = asyncio.create_task(source.run())
        await asyncio.wait_for(source.ready.wait(), 10)
        out = sender()
        try:
            for index, packet in enumerate(packets):
                # Every packet on both feeds; B sometimes wins the race.
                order = (FEED_A, FEED_B) if index % 3 else (FEED_B, FEED_A)
                for channel in order:
                    out.sendto(packet, address(channel))
                await asyncio.sleep(0.001)
            await wait_for(lambda: source.stats.messages == 2 * len(packets))
        finally:
            out.close()
            await source.stop()
            await asyncio.wait_for(task, 10)
        return source

    source = run_in_netns(netns, scenario)
    received = [msgspec.structs.replace(e, ts_recv=0) for e in collect.events]
    expected = [msgspec.structs.replace(e, ts_recv=0) for e in expected]
    assert received == expected
    assert [r.datagrams for r in source.receivers] == [len(packets), len(packets)]
    decoder = source.feed.decoder
    # The file already holds both feeds once: 4 copies of each packet arrived, one was used.
    assert decoder.packets == reference.packets == len(packets) // 2
    assert decoder.arbiter.duplicates == 2 * len(packets) - decoder.packets
    assert source.stats.decode_errors == 0


async def test_a_unicast_channel_on_loopback(free_port: Callable[[], int]) -> None:
    port = free_port()
    spec = SourceSpec(
        kind="udp",
        protocol="json",
        mapping="simulator_ws",
        endpoint=f"127.0.0.1:{port}",
        symbols=["AAPL"],
    )
    collect = Collect()
    source = UdpSource("udp", spec, SOURCES.params("udp", {}), collect)
    task = asyncio.create_task(source.run())
    frames = [
        b'{"type":"trade","symbol":"AAPL","id":"%d","price":"190.25","size":"3","side":"buy","ts":1}'
        % i
        for i in range(20)
    ]
    try:
        await asyncio.wait_for(source.ready.wait(), 10)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            for frame in frames:
                out.sendto(frame, ("127.0.0.1", port))
            out.sendto(b"{broken", ("127.0.0.1", port))
        await wait_for(lambda: source.stats.messages == len(frames) + 1)
    finally:
        await source.stop()
        await asyncio.wait_for(task, 10)
    assert [e.trade_id for e in collect.events if isinstance(e, Trade)] == [
        str(i) for i in range(20)
    ]
    assert collect.batches == len(frames)  # one emit per datagram
    assert source.stats.errors_by_reason == {"bad_json": 1}


def test_channels_and_params() -> None:
    assert parse_channel("udp://239.1.2.3:14310").multicast
    assert not parse_channel(":9000").multicast
    with pytest.raises(ValueError):
        parse_channel("239.1.2.3")
    with pytest.raises(ParamsError):
        SOURCES.params("udp", {"channels": ["a:1", "b:2", "c:3"]})
    spec = SourceSpec(kind="udp", protocol="json", mapping="simulator_ws", endpoint="")
    with pytest.raises(ValueError, match="one or two channels"):
        UdpSource("u", spec, SOURCES.params("udp", {}), Collect())
