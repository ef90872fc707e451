"""The WebSocket's ``?token=`` shares the API's lockout: five bad tokens, then even a good one
is refused from that address."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from controlplane.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def _connects(token: str, address: str) -> bool:
    communicator = WebsocketCommunicator(
        application, f"/ws/stream/?token={token}", headers=[(b"host", b"testserver")]
    )
    communicator.scope["client"] = (address, 50000)
    connected, _ = await communicator.connect(timeout=3)
    if connected:
        await communicator.disconnect()
    return connected


async def test_bad_tokens_lock_the_address_out(viewer_token: str, gateway: Any) -> None:
    for i in range(5):
        assert not await _connects(f"bad{i}", "10.0.0.7")
    assert not await _connects(viewer_token, "10.0.0.7")
    assert await _connects(viewer_token, "10.0.0.8")
