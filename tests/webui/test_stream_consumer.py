"""/ws/stream/: admission (session, token, origin), frames, snapshot then deltas from a real ring."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from controlplane.asgi import application
from webui.gateway import CachedEvent, Mailbox

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"testserver")
SAME_ORIGIN = (b"origin", b"http://testserver")


def _communicator(
    path: str = "/ws/stream/", headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[HOST, *(headers or [])])


async def _session_cookie(user: Any) -> tuple[bytes, bytes]:
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    return (
        b"cookie",
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode(),
    )


async def _connected(communicator: WebsocketCommunicator) -> bool:
    connected, _ = await communicator.connect(timeout=3)
    if connected:
        await communicator.disconnect()
    return connected


async def _frame(communicator: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def test_session_cookie_with_same_origin_is_accepted(viewer: Any, gateway: Any) -> None:
    cookie = await _session_cookie(viewer)
    assert await _connected(_communicator(headers=[SAME_ORIGIN, cookie]))


async def test_anonymous_is_refused(gateway: Any) -> None:
    assert not await _connected(_communicator(headers=[SAME_ORIGIN]))


async def test_foreign_origin_is_refused_even_with_credentials(
    viewer: Any, viewer_token: str, gateway: Any
) -> None:
    cookie = await _session_cookie(viewer)
    evil = (b"origin", b"http://evil.example")
    assert not await _connected(_communicator(headers=[evil, cookie]))
    assert not await _connected(_communicator(f"/ws/stream/?token={viewer_token}", [evil]))


async def test_missing_origin_needs_a_token(viewer: Any, viewer_token: str, gateway: Any) -> None:
    cookie = await _session_cookie(viewer)
    assert not await _connected(_communicator(headers=[cookie]))
    assert await _connected(_communicator(f"/ws/stream/?token={viewer_token}"))
    header = (b"authorization", f"Token {viewer_token}".encode())
    assert await _connected(_communicator(headers=[header]))
    assert not await _connected(_communicator("/ws/stream/?token=wrong"))


async def test_a_user_without_a_role_is_refused(make_user: Any, gateway: Any) -> None:
    from rest_framework.authtoken.models import Token

    user = await database_sync_to_async(make_user)("nobody")
    token = await database_sync_to_async(Token.objects.create)(user=user)
    assert not await _connected(_communicator(f"/ws/stream/?token={token.key}"))


async def test_bad_frames_get_error_frames(viewer_token: str, gateway: Any) -> None:
    communicator = _communicator(f"/ws/stream/?token={viewer_token}")
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data="{not json")
    assert (await _frame(communicator))["code"] == "bad_json"
    await communicator.send_json_to({"op": "publish", "id": 7, "topics": ["md.>"]})
    assert await _frame(communicator) == {
        "op": "error",
        "id": 7,
        "code": "bad_op",
        "message": "op must be 'subscribe' or 'unsubscribe'",
    }
    await communicator.send_json_to({"op": "subscribe", "id": 8, "topics": ["md.>.book"]})
    frame = await _frame(communicator)
    assert (frame["id"], frame["code"]) == (8, "bad_topics")
    await communicator.disconnect()


async def test_snapshot_then_deltas_from_a_real_ring(
    viewer_token: str, gateway: Any, publish_book: Any
) -> None:
    publish_book("BTC-USD", seq=1, bid=100_00)
    publish_book("ETH-USD", seq=2, bid=20_00)
    communicator = _communicator(f"/ws/stream/?token={viewer_token}")
    assert (await communicator.connect())[0]
    for _ in range(100):  # the gateway task attaches to the ring and reads it
        if len(gateway.latest) == 2:
            break
        await asyncio.sleep(0.02)
    await communicator.send_json_to({"op": "subscribe", "id": 1, "topics": ["md.*.BTC-USD.book"]})
    snapshot = await _frame(communicator)
    assert snapshot["op"] == "snapshot" and snapshot["topic"] == "md.sim.BTC-USD.book"
    assert snapshot["seq"] == 1 and snapshot["merged"] == 0
    assert snapshot["data"]["kind"] == "book_snapshot"
    assert snapshot["data"]["bids"][0] == ["100.00", "1.000"]
    publish_book("ETH-USD", seq=3)  # not subscribed
    publish_book("BTC-USD", seq=4, bid=101_00)
    delta = await _frame(communicator)
    assert (delta["op"], delta["seq"], delta["data"]["bids"][0][0]) == ("delta", 4, "101.00")
    await communicator.send_json_to({"op": "unsubscribe", "id": 2, "topics": ["md.*.BTC-USD.book"]})
    await asyncio.sleep(0.1)
    publish_book("BTC-USD", seq=5)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_heartbeats(viewer_token: str, gateway: Any, settings: Any) -> None:
    settings.TICKERPLANT_WS_HEARTBEAT_SECONDS = 0.1
    communicator = _communicator(f"/ws/stream/?token={viewer_token}")
    assert (await communicator.connect())[0]
    frame = await _frame(communicator)
    assert frame["op"] == "heartbeat" and isinstance(frame["ts"], int)
    await communicator.disconnect()


def test_the_mailbox_conflates_per_topic_and_counts_drops(make_book: Any) -> None:
    book_event = make_book

    async def scenario() -> None:
        mailbox = Mailbox(capacity=2)
        for seq in (1, 2, 3):
            mailbox.offer("delta", CachedEvent("md.sim.A.book", seq, book_event("A", seq)))
        mailbox.offer("snapshot", CachedEvent("md.sim.B.book", 9, book_event("B", 9)))
        mailbox.offer("delta", CachedEvent("md.sim.C.book", 5, book_event("C", 5)))  # full
        frames = [json.loads(f) for f in mailbox.drain()]
        assert [(f["topic"], f["seq"], f["merged"]) for f in frames] == [
            ("md.sim.A.book", 3, 2),
            ("md.sim.B.book", 9, 0),
        ]
        assert (mailbox.merged, mailbox.dropped, len(mailbox)) == (2, 1, 0)

    asyncio.run(scenario())
