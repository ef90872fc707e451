"""One definition of a valid name: the config loader, the spec, the form and the API agree."""

from __future__ import annotations

import json

import msgspec
import pytest
from rest_framework.test import APIClient

from pipelines.config_file import ConfigError, loads_config
from pipelines.spec import PipelineSpec
from webui.forms import SourceForm

pytestmark = pytest.mark.django_db

VALID = ["feed", "a.b", "A-b_1", "x" * 100]
INVALID = ["bad name", "caf\u00e9", "x" * 101, "a/b", "a:b"]


def _loader_accepts(name: str) -> bool:
    try:
        loads_config(f'[data_sources]\n[data_sources.{json.dumps(name)}]\ntype = "simulator"\n')
    except ConfigError as exc:
        assert "not a valid name" in str(exc)
        return False
    return True


def _spec_accepts(name: str) -> bool:
    document = {"sources": {name: {"kind": "simulator"}}}
    try:
        msgspec.json.decode(json.dumps(document), type=PipelineSpec)
    except msgspec.ValidationError:
        return False
    return True


def _form_accepts(name: str) -> bool:
    form = SourceForm({"name": name})
    form.is_valid()
    return "name" not in form.errors


def _api_accepts(name: str, token: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.post("/api/sources/", {"name": name, "kind": "simulator"}, format="json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        assert api.get(f"/api/sources/{name}/").status_code == 200  # the URL takes it too
    return response.status_code == 201


@pytest.mark.parametrize("name", VALID + INVALID)
def test_every_door_agrees(name: str, operator_token: str) -> None:
    expected = name in VALID
    assert _loader_accepts(name) is expected
    assert _spec_accepts(name) is expected
    assert _form_accepts(name) is expected
    assert _api_accepts(name, operator_token) is expected
