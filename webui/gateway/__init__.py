"""The gateway: reads the workers' rings inside the daphne process and fans out to sockets."""

from __future__ import annotations

from webui.gateway.fanout import FanOut
from webui.gateway.hub import Gateway, get_gateway, set_gateway
from webui.gateway.mailbox import CachedEvent, Mailbox, Subscriber

__all__ = [
    "CachedEvent",
    "FanOut",
    "Gateway",
    "Mailbox",
    "Subscriber",
    "get_gateway",
    "set_gateway",
]
