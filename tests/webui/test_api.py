"""The REST API: catalog CRUD through the actions, plugins, books from the gateway, schema."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from controlplane.audit.models import AuditEntry
from controlplane.catalog.models import DataSource

pytestmark = pytest.mark.django_db


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_source_crud_with_a_token(operator_token: str) -> None:
    api = _client(operator_token)
    created = api.post(
        "/api/sources/",
        {"name": "feed", "kind": "simulator", "symbols": ["BTC-USD"], "params": {"rate": 100}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["params"] == {"rate": 100.0}
    assert api.get("/api/sources/feed/").json()["symbols"] == ["BTC-USD"]
    patched = api.patch("/api/sources/feed/", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert api.delete("/api/sources/feed/").status_code == 204
    assert not DataSource.objects.exists()
    assert [e.actor for e in AuditEntry.objects.all()] == ["olivia"] * 3


def test_params_errors_are_keyed_by_field(operator_token: str) -> None:
    api = _client(operator_token)
    bad = api.post(
        "/api/sources/",
        {"name": "feed", "kind": "simulator", "params": {"rate": -1}},
        format="json",
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["params"] and list(bad.json()["params"]) == ["rate"]
    assert "rate" in bad.json()["params"]["rate"][0]
    unknown = api.post(
        "/api/rules/", {"name": "e", "kind": "ema", "params": {"windw": 3}}, format="json"
    )
    assert unknown.status_code == 400 and "windw" in unknown.json()["params"]
    kind = api.post("/api/rules/", {"name": "e", "kind": "nope"}, format="json")
    assert kind.status_code == 400 and "kind" in kind.json()
    assert not DataSource.objects.exists()


def test_rules_crud(operator_token: str) -> None:
    api = _client(operator_token)
    response = api.post(
        "/api/rules/", {"name": "ema", "kind": "ema", "params": {"window": 20}}, format="json"
    )
    assert response.status_code == 201, response.json()
    response = api.patch("/api/rules/ema/", {"params": {"window": 0}}, format="json")
    assert response.status_code == 400 and "window" in response.json()["params"]
    assert api.get("/api/rules/ema/").json()["params"] == {"window": 20}


def test_viewers_read_but_do_not_write(viewer_token: str) -> None:
    api = _client(viewer_token)
    assert api.get("/api/sources/").status_code == 200
    response = api.post("/api/sources/", {"name": "x", "kind": "simulator"}, format="json")
    assert response.status_code == 403


def test_list_endpoints_have_a_query_budget(
    operator_token: str, django_assert_max_num_queries: Any
) -> None:
    from controlplane.catalog import actions

    for i in range(20):
        actions.do_create_source(None, name=f"feed{i}", kind="simulator")
        actions.do_create_rule(None, name=f"ema{i}", kind="ema", params={"window": i + 1})
    api = _client(operator_token)
    # token + user + groups (role) + the list itself
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/sources/").json()) == 20
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/rules/").json()) == 20


def test_plugins_carry_their_params_schema(viewer_token: str) -> None:
    plugins = _client(viewer_token).get("/api/plugins/").json()
    by_kind = {(p["registry"], p["kind"]): p for p in plugins}
    assert {("sources", "simulator"), ("calculators", "ema"), ("sinks", "shm")} <= set(by_kind)
    schema = by_kind[("calculators", "ema")]["params_schema"]
    assert "window" in str(schema)


def test_openapi_schema(viewer_token: str) -> None:
    response = _client(viewer_token).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/sources/",
        "/api/rules/",
        "/api/plugins/",
        "/api/books/{stream}/{symbol}/",
    } <= set(paths)


def test_books_come_from_the_gateway(viewer_token: str, gateway: Any, publish_book: Any) -> None:
    api = _client(viewer_token)
    missing = api.get("/api/books/sim/BTC-USD/")
    assert missing.status_code == 404 and "No book" in missing.json()["detail"]
    publish_book("BTC-USD", seq=7, bid=123_45)
    assert gateway.poll_once() == 1
    book = api.get("/api/books/sim/BTC-USD/").json()
    assert book["seq"] == 7 and book["state"] == "LIVE"
    assert book["bids"][0] == ["123.45", "1.000"] and book["asks"][0] == ["123.95", "2.000"]
    assert len(book["bids"]) == 10
