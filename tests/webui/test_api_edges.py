"""The API's edges answer 4xx, never 500: races on a name, huge or deep bodies, loose types."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from controlplane.catalog.models import DataSource

pytestmark = pytest.mark.django_db


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_name_answer_201_once_and_400_otherwise(
    operator_token: str,
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers from BEGIN (IMMEDIATE): no check/insert race")
    writers = 8
    start = threading.Barrier(writers)
    statuses: list[int] = []
    bodies: list[Any] = []

    def create() -> None:
        try:
            start.wait()
            response = _client(operator_token).post(
                "/api/sources/", {"name": "feed", "kind": "simulator"}, format="json"
            )
            statuses.append(response.status_code)
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] + [400] * (writers - 1), bodies
    losers = [b for b in bodies if "id" not in b]
    assert all(b == {"name": ["'feed' is already taken."]} for b in losers), losers
    assert DataSource.objects.count() == 1


def test_a_deeply_nested_body_is_a_400(operator_token: str) -> None:
    body = '{"name": "feed", "kind": "simulator", "params": {"x": ' + _deep(5000) + "}}"
    response = _client(operator_token).post("/api/sources/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]


def test_brackets_inside_strings_do_not_count_as_depth(operator_token: str) -> None:
    body = '{"name": "feed", "kind": "simulator", "symbols": ["' + "[" * 5000 + '"]}'
    response = _client(operator_token).post("/api/sources/", body, content_type="application/json")
    assert response.status_code == 201, response.json()


def test_a_huge_body_is_a_413(operator_token: str) -> None:
    body = '{"name": "feed", "kind": "simulator", "symbols": ["' + "A" * 2_000_000 + '"]}'
    response = _client(operator_token).post("/api/sources/", body, content_type="application/json")
    assert response.status_code == 413
    assert not DataSource.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "error_at"),
    [
        ("symbols", [1, 2], "symbols"),
        ("fields", [True], "fields"),
        ("name", 123, "name"),
        ("endpoint", 5, "endpoint"),
        ("enabled", "true", "enabled"),
        ("enabled", 1, "enabled"),
        ("params", {"rate": "1e3"}, "params"),
        ("params", {"rate": "100"}, "params"),
    ],
)
def test_no_silent_coercion(operator_token: str, field: str, value: Any, error_at: str) -> None:
    data = {"name": "feed", "kind": "simulator", field: value}
    response = _client(operator_token).post("/api/sources/", data, format="json")
    assert response.status_code == 400, response.json()
    assert error_at in response.json()
    assert not DataSource.objects.exists()


def test_numbers_of_the_right_kind_still_pass(operator_token: str) -> None:
    response = _client(operator_token).post(
        "/api/sources/",
        {"name": "feed", "kind": "simulator", "params": {"rate": 5}, "enabled": False},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["params"] == {"rate": 5.0}  # an int is a float without loss
