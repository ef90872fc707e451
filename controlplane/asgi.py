"""ASGI entry point: HTTP through Django, ``/ws/stream/`` through Channels.

WebSockets pass Channels' session auth, then our origin and token checks. Any first request
(or an ASGI lifespan startup, where the server sends one) starts the gateway's polling task.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from webui.gateway import get_gateway  # noqa: E402
from webui.routing import websocket_urlpatterns  # noqa: E402
from webui.ws_auth import StreamAuthMiddleware  # noqa: E402


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
        "websocket": AuthMiddlewareStack(StreamAuthMiddleware(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] in ("http", "websocket"):
        get_gateway().ensure_started()
    await router(scope, receive, send)
