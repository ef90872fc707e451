"""``kind="udp"``: a multicast (or unicast) UDP listener on one or two channels (feeds A and B).

Every datagram of every channel goes to the ONE decoder of the source, so the protocol arbitrates
the copies (``cme_mdp3`` keeps the first packet of each sequence number and counts the rest as
duplicates). One socket per channel: ``SO_REUSEADDR`` (and ``SO_REUSEPORT``) so several listeners
can share a group, a large ``SO_RCVBUF`` (bursts must not overflow the kernel queue), and
``IP_ADD_MEMBERSHIP`` on ``interface`` for multicast groups. On Linux a multicast socket binds
to the group address, so it receives only that group even when another group shares the port.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import time
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from ingest.sources.base import Emit, Source
from ingest.sources.bytefeed import ByteFeed, FeedAttributes
from pipelines.registry import SOURCES
from pipelines.spec import SourceSpec

__all__ = ["UdpChannel", "UdpParams", "UdpSource", "open_channel_socket", "parse_channel"]

log = logging.getLogger(__name__)

Channel = Annotated[str, Meta(pattern=r"^(udp://)?[0-9A-Za-z.\-]*:[0-9]{1,5}$")]


class UdpParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    channels: Annotated[list[Channel], Meta(max_length=2)] = []
    """``group:port`` of feed A (and B); empty: the source's ``endpoint``, comma-separated.
    A unicast address (or an empty host, ``:port``) binds that address."""
    interface: str = "0.0.0.0"
    """IPv4 address of the interface that joins the groups (``0.0.0.0``: the kernel's choice)."""
    receive_buffer: Annotated[int, Meta(ge=0, le=1 << 30)] = 8 << 20
    """SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max); 0 keeps the default."""
    reuse_port: bool = True
    """SO_REUSEPORT: several processes may listen to the same group and port."""
    symbols: list[Annotated[str, Meta(min_length=1, max_length=64)]] = []
    """Symbols of this feed (status events); empty: the spec's."""
    protocol_params: dict[str, Any] = {}
    """Params of the protocol plugin (`cme_mdp3`: its `schema` path)."""


class UdpChannel(msgspec.Struct, frozen=True):
    host: str
    port: int

    @property
    def multicast(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_multicast
        except ValueError:
            return False


def parse_channel(text: str) -> UdpChannel:
    """``239.1.2.3:14310``, ``udp://239.1.2.3:14310`` or ``:9000`` (all local addresses)."""
    body = text.strip().split("://", 1)[-1]
    host, sep, port = body.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a host:port channel: {text!r}")
    return UdpChannel(host, int(port))


def open_channel_socket(
    channel: UdpChannel,
    interface: str = "0.0.0.0",
    receive_buffer: int = 0,
    reuse_port: bool = True,
) -> socket.socket:
    """A bound, non-blocking UDP socket receiving ``channel`` (joined when multicast)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if channel.multicast:
            sock.bind((channel.host, channel.port))
            membership = socket.inet_aton(channel.host) + socket.inet_aton(interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        else:
            sock.bind((channel.host or "0.0.0.0", channel.port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Receiver(asyncio.DatagramProtocol):
    __slots__ = ("datagrams", "on_message")

    def __init__(self, source: UdpSource) -> None:
        self.on_message = source.feed.on_message
        self.datagrams = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.datagrams += 1
        self.on_message(data, time.time_ns())

    def error_received(self, exc: Exception) -> None:
        log.warning("udp receive error: %s", exc)


def _same(receiver: _Receiver) -> _Receiver:
    return receiver


@SOURCES.register
class UdpSource(FeedAttributes, Source[UdpParams]):
    kind: ClassVar[str] = "udp"
    Params: ClassVar[type[msgspec.Struct]] = UdpParams

    def __init__(self, name: str, spec: SourceSpec, params: UdpParams, emit: Emit) -> None:
        super().__init__(name, spec, params, emit)
        texts = params.channels or [c for c in spec.endpoint.split(",") if c.strip()]
        if not 1 <= len(texts) <= 2:
            raise ValueError(f"udp source {name!r} needs one or two channels (A, B)")
        self.channels = [parse_channel(text) for text in texts]
        self.feed = ByteFeed(
            name,
            spec,
            spec.protocol,
            params.protocol_params,
            emit,
            params.symbols or spec.symbols,
        )
        self.receivers: list[_Receiver] = []
        self.ready = asyncio.Event()
        """Set once every channel's socket is bound and joined (a sender may start)."""
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        params = self.params
        transports: list[asyncio.DatagramTransport] = []
        try:
            for channel in self.channels:
                sock = open_channel_socket(
                    channel, params.interface, params.receive_buffer, params.reuse_port
                )
                receiver = _Receiver(self)
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(_same, receiver), sock=sock
                )
                transports.append(transport)
                self.receivers.append(receiver)
            self.ready.set()
            await self._stopping.wait()
        finally:
            for transport in transports:
                transport.close()

    def update(self, params: UdpParams) -> bool:
        return params == self.params

    async def stop(self) -> None:
        self._stopping.set()
