"""``/ws/stream/``: subscribe to topic patterns; snapshot, then conflated deltas; heartbeats.

Frames per ARCHITECTURE.md. The consumer only checks, parses and hands patterns to the gateway;
the gateway's fan-out task writes the frames (:mod:`webui.gateway.fanout`), so a socket has no
task of its own to leak. The socket is unregistered in a ``finally`` around the whole consumer,
which no exception, cancellation or closed socket can skip (the unregistering never awaits).

A client frame larger or deeper than the limits is refused before it is parsed: an error frame
(``too_large`` / ``too_deep``), then a close (4413 / 4400). Sending to a client that already
went is not an error: the send reports it, the socket is dropped and counted, nothing is logged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from webui.gateway import Gateway, Subscriber, get_gateway
from webui.gateway.mailbox import valid_pattern
from webui.metrics import (
    GATEWAY_FRAMES,
    WS_ACCEPTED,
    WS_CONNECTIONS,
    WS_FRAMES_REFUSED,
    WS_REFUSED,
    WS_SEND_CLOSED,
)
from webui.roles import can_view, role_known
from webui.ws_backlog import Send, unwrap_send
from webui.ws_frames import CLOSE_SLOW, frame_problem

__all__ = ["StreamConsumer"]

# What a send to a connection that is closing or closed raises: daphne lets autobahn's
# ``Disconnected`` through; the ASGI spec asks servers for an ``OSError``.
_GONE = (Disconnected, OSError)


class StreamConsumer(AsyncWebsocketConsumer):
    # No groups are used: without a channel layer a socket costs no channel, no receive task,
    # and no scan of every other channel on each receive (the in-memory layer's expiry check).
    channel_layer_alias = None

    subscriber: Subscriber | None = None
    _gateway: Gateway | None = None
    _counted = False
    _raw_send: Send | None = None
    _backlog: Callable[[], int] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self._raw_send, self._backlog = unwrap_send(send)
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler, a hop to the one
        # database thread per frame; only connect() uses the database here, through
        # database_sync_to_async, which closes them itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        # A token's role was read with its user: no second trip to the database thread.
        allowed = (
            can_view(user) if role_known(user) else await database_sync_to_async(can_view)(user)
        )
        if not allowed:
            WS_REFUSED.labels("unauthenticated").inc()
            await self.close(code=4401)
            return
        await self.accept()
        WS_ACCEPTED.inc()
        WS_CONNECTIONS.inc()
        self._counted = True
        gateway = self._gateway = get_gateway()
        gateway.ensure_started()
        self.subscriber = Subscriber(
            settings.TICKERPLANT_WS_MAILBOX_TOPICS,
            socket=self,
            heartbeat_seconds=settings.TICKERPLANT_WS_HEARTBEAT_SECONDS,
            backlog_limit=settings.TICKERPLANT_WS_BACKLOG_BYTES,
            stall_seconds=settings.TICKERPLANT_WS_STALL_SECONDS,
        )
        gateway.register(self.subscriber)

    async def disconnect(self, code: int) -> None:
        self._release()

    def _release(self) -> None:
        """Unregister the socket (idempotent; never awaits, so nothing interrupts it)."""
        subscriber, self.subscriber = self.subscriber, None
        if subscriber is not None and self._gateway is not None:
            self._gateway.unregister(subscriber)
        if self._counted:
            self._counted = False
            WS_CONNECTIONS.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.subscriber is None:
            return
        if text_data is None:
            await self._error(None, "bad_frame", "frames must be JSON text")
            return
        max_bytes = settings.TICKERPLANT_WS_MAX_FRAME_BYTES
        problem = frame_problem(text_data, max_bytes, settings.TICKERPLANT_WS_MAX_FRAME_DEPTH)
        if problem is not None:
            WS_FRAMES_REFUSED.labels(problem.code).inc()
            await self.cut_off(problem.code, problem.message, problem.close_code)
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self._error(None, "bad_json", "frame is not valid JSON")
            return
        if not isinstance(frame, dict):
            await self._error(None, "bad_frame", "frame must be a JSON object")
            return
        frame_id = frame.get("id")
        op = frame.get("op")
        if op not in ("subscribe", "unsubscribe"):
            await self._error(frame_id, "bad_op", "op must be 'subscribe' or 'unsubscribe'")
            return
        topics = frame.get("topics")
        if not isinstance(topics, list) or not topics or not all(map(valid_pattern, topics)):
            await self._error(
                frame_id, "bad_topics", "topics must be a non-empty list of topic patterns"
            )
            return
        gateway = self._gateway
        assert gateway is not None
        if op == "unsubscribe":
            gateway.unsubscribe(self.subscriber, topics)
            return
        if len(self.subscriber.patterns | set(topics)) > settings.TICKERPLANT_WS_MAX_PATTERNS:
            limit = settings.TICKERPLANT_WS_MAX_PATTERNS
            await self._error(frame_id, "too_many_topics", f"at most {limit} patterns per socket")
            return
        gateway.subscribe(self.subscriber, topics)

    async def _error(self, frame_id: Any, code: str, message: str) -> None:
        GATEWAY_FRAMES.labels("error").inc()
        await self.send_text(
            json.dumps({"op": "error", "id": frame_id, "code": code, "message": message})
        )

    # --- webui.gateway.mailbox.Socket ------------------------------------------------------
    async def send_text(self, text: str) -> bool:
        assert self._raw_send is not None
        try:
            await self._raw_send({"type": "websocket.send", "text": text})
        except _GONE:
            WS_SEND_CLOSED.inc()
            return False
        return True

    def backlog(self) -> int:
        return self._backlog() if self._backlog is not None else 0

    async def cut_off(self, code: str, message: str, close_code: int = CLOSE_SLOW) -> None:
        self._release()  # first: nothing more is queued behind the error frame
        await self._error(None, code, message)
        assert self._raw_send is not None
        with contextlib.suppress(*_GONE):
            await self._raw_send({"type": "websocket.close", "code": close_code})
