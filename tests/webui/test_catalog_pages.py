"""Catalog pages: forms built from the plugin's Params; errors next to the field; roles."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.test import Client

from controlplane.catalog import actions
from controlplane.catalog.models import DataSource, ProcessingRule
from pipelines.registry import CALCULATORS, SOURCES
from webui.params_form import ListField, params_form_class

pytestmark = pytest.mark.django_db


def test_the_params_form_mirrors_the_struct() -> None:
    form = params_form_class(SOURCES.get("simulator").Params)()
    fields = form.fields
    assert isinstance(fields["rate"], forms.FloatField) and fields["rate"].initial == 10_000.0
    assert fields["rate"].max_value == 10_000_000
    assert isinstance(fields["seed"], forms.IntegerField) and fields["seed"].initial == 1
    assert isinstance(fields["max_events"], forms.IntegerField)
    assert fields["max_events"].min_value == 0
    assert isinstance(fields["symbols"], ListField)
    ema = params_form_class(CALCULATORS.get("ema").Params)().fields
    assert isinstance(ema["window"], forms.IntegerField) and ema["window"].min_value == 1


def test_new_source_page_lists_plugins_then_builds_the_form(client: Client, operator: Any) -> None:
    client.force_login(operator)
    choose = client.get("/sources/new/")
    assert b"?kind=simulator" in choose.content
    page = client.get("/sources/new/?kind=simulator")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="params-rate"' in html and 'name="params-seed"' in html
    assert 'value="10000.0"' in html


def _post_source(client: Client, **params: str) -> Any:
    data = {"kind": "simulator", "name": "feed", "symbols": "BTC-USD, ETH-USD", "enabled": "on"}
    data.update({f"params-{k}": v for k, v in params.items()})
    return client.post("/sources/new/", data)


def test_a_bad_value_shows_its_message_next_to_the_field(client: Client, operator: Any) -> None:
    client.force_login(operator)
    response = _post_source(client, rate="-3", seed="1")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="rate"' in html and "greater than 0" in html
    assert not DataSource.objects.exists()


def test_a_params_error_from_the_plugin_lands_on_its_field(
    client: Client, operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the form lets a value through, the plugin's ParamsError.path names the field."""
    from webui.params_form import ParamsForm

    monkeypatch.setattr(ParamsForm, "params", lambda self: {"seed": "not a number"})
    client.force_login(operator)
    response = _post_source(client, seed="5")
    assert response.status_code == 400
    assert 'data-field="seed"' in response.content.decode()
    assert not DataSource.objects.exists()


def test_create_edit_and_delete_through_the_pages(client: Client, operator: Any) -> None:
    client.force_login(operator)
    response = _post_source(client, rate="250", seed="")
    assert response.status_code == 302 and response["Location"] == "/sources/"
    source = DataSource.objects.get()
    assert source.symbols == ["BTC-USD", "ETH-USD"]
    assert source.params == {"rate": 250.0}
    listing = client.get("/sources/").content.decode()
    assert "feed" in listing and "rate=250.0" in listing
    edit = client.get("/sources/feed/")
    assert 'value="250.0"' in edit.content.decode()
    response = client.post(
        "/sources/feed/",
        {"kind": "simulator", "name": "feed", "symbols": "SOL-USD", "params-rate": "99"},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.symbols == ["SOL-USD"] and source.params["rate"] == 99.0 and not source.enabled
    assert client.post("/sources/feed/delete/").status_code == 302
    assert not DataSource.objects.exists()


def test_rule_pages(client: Client, operator: Any) -> None:
    client.force_login(operator)
    bad = client.post(
        "/rules/new/",
        {"kind": "ema", "name": "ema", "action": "alert", "params-window": "0", "enabled": "on"},
    )
    assert bad.status_code == 400 and 'data-field="window"' in bad.content.decode()
    good = client.post(
        "/rules/new/",
        {"kind": "ema", "name": "ema", "action": "alert", "params-window": "12", "enabled": "on"},
    )
    assert good.status_code == 302
    assert ProcessingRule.objects.get().params == {"window": 12}


def test_viewers_see_but_cannot_change(client: Client, viewer: Any) -> None:
    actions.do_create_source(None, name="feed", kind="simulator")
    client.force_login(viewer)
    assert client.get("/sources/").status_code == 200
    assert client.get("/sources/feed/").status_code == 200
    assert client.get("/sources/new/?kind=simulator").status_code == 403
    assert _post_source(client, rate="5").status_code == 403
    assert client.post("/sources/feed/delete/").status_code == 403
    assert DataSource.objects.count() == 1


def test_list_page_query_budget(
    client: Client, operator: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(15):
        actions.do_create_source(None, name=f"feed{i}", kind="simulator")
    client.force_login(operator)
    # session + user + role + sources (+ the messages' session read)
    with django_assert_max_num_queries(5):
        assert client.get("/sources/").status_code == 200


def test_audit_page_and_dashboard(client: Client, viewer: Any) -> None:
    actions.do_create_source(None, name="feed", kind="simulator")
    client.force_login(viewer)
    audit = client.get("/audit/").content.decode()
    assert "source.create" in audit and "feed" in audit
    dashboard = client.get("/dashboard/").content.decode()
    assert 'id="books"' in dashboard and "No market data yet" in dashboard
    assert "/static/webui/dashboard.js" in dashboard and "http" not in dashboard.split("<body")[
        0
    ].replace("http-equiv", "")
    script = client.get("/static/webui/dashboard.js")
    assert script.status_code == 200
    script.close()
