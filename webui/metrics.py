"""The control plane's own Prometheus metrics (requests, WebSockets, gateway frames and drops)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "GATEWAY_DROPS",
    "GATEWAY_EVENTS",
    "GATEWAY_FRAMES",
    "GATEWAY_MERGED",
    "GATEWAY_RINGS",
    "REGISTRY",
    "WS_CONNECTIONS",
    "WS_CUT_OFF",
    "WS_FRAMES_REFUSED",
    "WS_SEND_CLOSED",
    "WS_SUBSCRIBERS",
    "RequestMetricsMiddleware",
]

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "tickerplant_http_requests", "HTTP requests served", ["method", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "tickerplant_http_request_seconds", "HTTP request latency", registry=REGISTRY
)
WS_CONNECTIONS = Gauge(
    "tickerplant_ws_connections", "Open WebSocket connections", registry=REGISTRY
)
WS_ACCEPTED = Counter(
    "tickerplant_ws_accepted", "WebSocket connections accepted", registry=REGISTRY
)
WS_REFUSED = Counter(
    "tickerplant_ws_refused", "WebSocket connections refused", ["reason"], registry=REGISTRY
)
WS_SUBSCRIBERS = Gauge(
    "tickerplant_ws_subscribers",
    "WebSocket subscribers registered with the gateway (0 once every client is gone)",
    registry=REGISTRY,
)
WS_FRAMES_REFUSED = Counter(
    "tickerplant_ws_frames_refused",
    "Client frames refused before parsing (too large or too deep); the socket is closed",
    ["code"],
    registry=REGISTRY,
)
WS_CUT_OFF = Counter(
    "tickerplant_ws_cut_off",
    "Sockets closed because their backlog stayed over the limit (slow or dead clients)",
    registry=REGISTRY,
)
WS_SEND_CLOSED = Counter(
    "tickerplant_ws_send_closed",
    "Frames not sent because the client had already gone",
    registry=REGISTRY,
)
GATEWAY_EVENTS = Counter(
    "tickerplant_gateway_events", "Events read from the rings", registry=REGISTRY
)
GATEWAY_FRAMES = Counter(
    "tickerplant_gateway_frames", "Frames sent to WebSocket clients", ["op"], registry=REGISTRY
)
GATEWAY_MERGED = Counter(
    "tickerplant_gateway_merged", "Updates conflated into a later one", registry=REGISTRY
)
GATEWAY_DROPS = Counter(
    "tickerplant_gateway_drops", "Updates dropped for a full socket mailbox", registry=REGISTRY
)
GATEWAY_OVERRUNS = Counter(
    "tickerplant_gateway_ring_overruns", "Ring records lost to overrun", registry=REGISTRY
)
GATEWAY_RINGS = Gauge("tickerplant_gateway_rings", "Rings being read", registry=REGISTRY)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        HTTP_LATENCY.observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method or "", str(response.status_code)).inc()
        return response
