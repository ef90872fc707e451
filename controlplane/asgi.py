"""ASGI entry point: HTTP through Django, ``/ws/stream/`` through Channels.

WebSockets pass our origin and token checks, then (without a token) Channels' session auth. Any
first request (or an ASGI lifespan startup, where the server sends one) starts the gateway's
polling task.
"""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from webui.gateway import get_gateway  # noqa: E402
from webui.routing import websocket_urlpatterns  # noqa: E402
from webui.ws_auth import stream_auth_stack  # noqa: E402

# Database work (WebSocket auth, sync views) runs on a thread beside the event loop, and SQLite
# and psycopg hand the GIL back at every call: with the default 5 ms switch interval each hand-back
# could wait 5 ms on a busy loop, which made a handshake's one query take tens of milliseconds
# under fan-out load (decision 0120).
sys.setswitchinterval(0.0005)


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            get_gateway().ensure_started()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await get_gateway().stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


router = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": stream_auth_stack(URLRouter(websocket_urlpatterns)),
        "lifespan": lifespan,
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] in ("http", "websocket"):
        get_gateway().ensure_started()
    await router(scope, receive, send)
