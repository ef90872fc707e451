"""What daphne holds unsent for one WebSocket: the only backpressure signal it gives.

ASGI has no flow control for WebSockets: daphne hands every ``websocket.send`` to Twisted, whose
transport buffers without bound when the peer does not read. The ``send`` callable daphne gives
an application is ``functools.partial(Server.handle_reply, protocol)``; the protocol's Twisted
transport (a ``FileDescriptor``) knows the bytes it still holds. Channels' session middleware
wraps ``send`` (keeping the original as ``real_send``; for ``websocket.send`` the wrapper only
passes the message on), so it is unwrapped first, and frames are sent through the unwrapped
callable. Under another server, or Channels' test communicator, there is no such transport:
the backlog then reads 0 and only the mailbox bounds what a socket holds.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["unwrap_send"]

Send = Callable[[dict[str, Any]], Awaitable[None]]

_TRANSPORT_FIELDS = ("dataBuffer", "offset", "_tempDataLen")


def unwrap_send(send: Send) -> tuple[Send, Callable[[], int] | None]:
    """The innermost ASGI ``send`` and, under daphne, a reader of its transport's backlog."""
    for _ in range(8):  # a chain of middleware wrappers, never a cycle
        inner = getattr(getattr(send, "__self__", None), "real_send", None)
        if inner is None:
            break
        send = inner
    if not isinstance(send, functools.partial) or not send.args:
        return send, None
    transport = getattr(send.args[0], "transport", None)
    if transport is None or not all(hasattr(transport, f) for f in _TRANSPORT_FIELDS):
        return send, None

    def backlog() -> int:
        return len(transport.dataBuffer) - int(transport.offset) + int(transport._tempDataLen)

    return send, backlog
