"""``/ws/stream/``: subscribe to topic patterns; snapshot, then conflated deltas; heartbeats.

Frames per ARCHITECTURE.md. The consumer only parses, checks and hands patterns to the
gateway; a sender task drains the socket's mailbox, so a slow socket only conflates its own
updates (``merged``) or drops new topics (counted), never slowing the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from webui.gateway import Subscriber, get_gateway
from webui.gateway.mailbox import valid_pattern
from webui.metrics import GATEWAY_FRAMES, WS_ACCEPTED, WS_CONNECTIONS, WS_REFUSED
from webui.roles import can_view

__all__ = ["StreamConsumer"]

_MIN_FLUSH_SECONDS = 0.02  # at most 50 flushes a second per socket; updates between conflate


class StreamConsumer(AsyncWebsocketConsumer):
    subscriber: Subscriber | None = None
    _tasks: list[asyncio.Task[None]]

    async def connect(self) -> None:
        self._tasks = []
        user = self.scope.get("user")
        if not await database_sync_to_async(can_view)(user):
            WS_REFUSED.labels("unauthenticated").inc()
            await self.close(code=4401)
            return
        await self.accept()
        WS_ACCEPTED.inc()
        WS_CONNECTIONS.inc()
        gateway = get_gateway()
        gateway.ensure_started()
        self.subscriber = Subscriber(settings.TICKERPLANT_WS_MAILBOX_TOPICS)
        gateway.register(self.subscriber)
        self._tasks = [asyncio.create_task(self._sender()), asyncio.create_task(self._heartbeat())]

    async def disconnect(self, code: int) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.subscriber is not None:
            get_gateway().unregister(self.subscriber)
            self.subscriber = None
            WS_CONNECTIONS.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.subscriber is None:
            return
        if text_data is None:
            await self._error(None, "bad_frame", "frames must be JSON text")
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
        gateway = get_gateway()
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
        await self.send(
            text_data=json.dumps({"op": "error", "id": frame_id, "code": code, "message": message})
        )

    async def _sender(self) -> None:
        assert self.subscriber is not None
        mailbox = self.subscriber.mailbox
        while True:
            await mailbox.wait()
            frames = mailbox.drain()
            for frame in frames:
                await self.send(text_data=frame)
            GATEWAY_FRAMES.labels("data").inc(len(frames))
            await asyncio.sleep(_MIN_FLUSH_SECONDS)

    async def _heartbeat(self) -> None:
        period = settings.TICKERPLANT_WS_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(period)
            GATEWAY_FRAMES.labels("heartbeat").inc()
            await self.send(text_data=json.dumps({"op": "heartbeat", "ts": time.time_ns()}))
