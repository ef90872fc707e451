"""Every URL needs authentication except /healthz, /readyz and /metrics (and the login form)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

OPEN = {"/healthz", "/readyz", "/metrics", "/accounts/login/"}
_SAMPLES = {
    "name": "sim",
    "stream": "sim",
    "symbol": "BTC-USD",
    "pk": "1",
    "format": "json",
    "object_id": "1",
    "app_label": "auth",
    "content_type_id": "1",
    "url": "x",
}


def _concrete(route: str) -> str | None:
    """One pattern's part of a path: converters and named groups filled with samples."""
    if "format>" in route:
        return None  # DRF's format-suffix twins of the URLs already walked
    if route.startswith("^") or "(?P" in route:
        route = route.lstrip("^").rstrip("$").replace("\\.", ".")
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: _SAMPLES.get(m.group(1), "1"), route)
        if any(ch in route for ch in "()[]?*+\\"):
            return None  # a pattern we cannot fill in (format suffixes and the like)
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: _SAMPLES.get(m.group(1), "1"), route)


def _walk(patterns: list[Any], prefix: str = "/") -> list[str]:
    urls: list[str] = []
    for pattern in patterns:
        part = _concrete(str(pattern.pattern))
        if part is None:
            continue
        if isinstance(pattern, URLResolver):
            urls += _walk(pattern.url_patterns, prefix + part)
        elif isinstance(pattern, URLPattern):
            urls.append(prefix + part)
    return urls


ALL_URLS = sorted(set(_walk(get_resolver().url_patterns)))


def test_the_walk_found_the_product_urls() -> None:
    for url in (
        "/dashboard/",
        "/sources/",
        "/rules/",
        "/audit/",
        "/api/sources/",
        "/api/schema/",
        "/api/books/sim/BTC-USD/",
        "/api/plugins/",
        "/healthz",
    ):
        assert url in ALL_URLS


@pytest.mark.parametrize("url", ALL_URLS)
def test_anonymous_requests_are_refused_except_the_open_urls(client: Client, url: str) -> None:
    response = client.get(url)
    if url == "/readyz":  # open: it answers, ready or not (no worker runs in this test)
        assert response.status_code in (200, 503) and "checks" in response.json(), url
    elif url in OPEN:
        assert response.status_code == 200, url
    elif url.startswith("/api/"):
        assert response.status_code in (401, 403), url
    else:
        assert response.status_code == 302, url
        assert response["Location"].startswith(("/accounts/login/", "/admin/login/")), url


def test_login_form_logs_in_and_lands_on_the_dashboard(client: Client, viewer: Any) -> None:
    page = client.get("/accounts/login/")
    assert b'name="username"' in page.content and b'name="password"' in page.content
    response = client.post(
        "/accounts/login/", {"username": "victor", "password": "pw-victor-12345"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/").headers["Location"] == "/dashboard/"


def test_an_authenticated_user_without_a_role_sees_nothing(client: Client, make_user: Any) -> None:
    client.force_login(make_user("nobody"))
    assert client.get("/sources/").status_code == 403
    assert client.get("/api/sources/").status_code == 403


def test_health_readiness_and_metrics(client: Client, settings: Any) -> None:
    from controlplane.fleet.actions import do_record_heartbeat, do_record_process_state

    settings.TICKERPLANT_WORKERS = 2
    for index in range(2):
        do_record_process_state(f"worker-{index}", 100 + index, "up", "running 5 s")
    do_record_heartbeat("celery-worker")
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["checks"]["database"] == "ok"
    assert ready["checks"]["workers"] == "ok (2 up)"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert b"tickerplant_http_requests_total" in metrics.content
    assert b"tickerplant_ws_connections" in metrics.content


def test_readyz_reports_a_broken_config_store(client: Client, settings: Any, tmp_path: Any) -> None:
    (tmp_path / "garbage.json").write_text("not json")
    settings.TICKERPLANT_CONFIG_STORE = f"file://{tmp_path}/garbage.json"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["config_store"].startswith("error")


def test_production_metrics_are_restricted(client: Client, settings: Any) -> None:
    settings.TICKERPLANT_METRICS_NETWORKS = ["10.0.0.0/8"]
    settings.TICKERPLANT_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
