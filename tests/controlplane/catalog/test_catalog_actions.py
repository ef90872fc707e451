"""Catalog actions: validation by the plugin's Params, audit, and the spec published after commit."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.audit.models import AuditEntry
from controlplane.catalog import actions
from controlplane.catalog.checks import CatalogError
from controlplane.catalog.models import DataSource, ProcessingRule, PublishedSpec
from controlplane.catalog.publish import publish_catalog
from pipelines.config_stores import open_store

pytestmark = pytest.mark.django_db


def _source(**overrides: Any) -> DataSource:
    values = {"name": "sim", "kind": "simulator", "symbols": ["BTC-USD"], "params": {"rate": 500}}
    return actions.do_create_source(None, **{**values, **overrides})


def test_create_source_audits_and_publishes_after_commit(
    config_store_url: str, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TICKERPLANT_WORKERS = 3
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        source = _source()
    assert len(callbacks) == 1
    assert source.params == {"rate": 500.0}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target, entry.actor) == ("source.create", "sim", "system")
    spec = open_store(config_store_url).get()
    assert spec is not None and spec.version == 1
    assert spec.sources["sim"].kind == "simulator" and spec.sources["sim"].symbols == ["BTC-USD"]
    assert spec.sinks["live"].kind == "shm"
    assert spec.shards.count == 3
    assert PublishedSpec.objects.get().version == 1


def test_nothing_is_published_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        _source()
    # Captured, not run: the callback belongs to the commit, which a failing request never reaches.
    assert len(callbacks) == 1 and not PublishedSpec.objects.exists()


def test_bad_params_name_the_field_and_save_nothing() -> None:
    with pytest.raises(CatalogError) as caught:
        _source(params={"rate": -5})
    assert caught.value.field == "params.rate"
    with pytest.raises(CatalogError) as caught:
        _source(params={"no_such_param": 1})
    assert caught.value.field == "params.no_such_param"
    assert not DataSource.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "nope"}, "kind"),
        ({"name": "bad name!"}, "name"),
        ({"name": ""}, "name"),
        ({"symbols": "BTC"}, "symbols"),
        ({"protocol": "carrier-pigeon"}, "protocol"),
    ],
)
def test_invalid_entries_are_refused_by_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(CatalogError) as caught:
        _source(**overrides)
    assert caught.value.field == field


def test_duplicate_names_are_refused() -> None:
    _source()
    with pytest.raises(CatalogError, match="already taken"):
        _source()


def test_update_and_delete_are_audited_and_republished(
    config_store_url: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        source = _source()
        actions.do_update_source(source, None, params={"rate": 250}, enabled=False)
    source.refresh_from_db()
    assert source.params == {"rate": 250.0} and source.enabled is False
    update = AuditEntry.objects.get(action="source.update")
    assert update.data["changes"]["enabled"] == {"old": True, "new": False}
    assert open_store(config_store_url).get().sources["sim"].enabled is False
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_delete_source(source, None)
    assert "sim" not in open_store(config_store_url).get().sources
    assert [e.action for e in AuditEntry.objects.all()] == [
        "source.create",
        "source.update",
        "source.delete",
    ]


def test_rules_compile_by_registry(
    config_store_url: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_create_rule(None, name="ema_fast", kind="ema", params={"window": 5})
    spec = open_store(config_store_url).get()
    assert spec.calculators["ema_fast"].params == {"window": 5}
    with pytest.raises(CatalogError) as caught:
        actions.do_create_rule(None, name="ema_bad", kind="ema", params={"window": 0})
    assert caught.value.field == "params.window"
    assert list(ProcessingRule.objects.values_list("name", flat=True)) == ["ema_fast"]


def test_the_live_sink_name_is_reserved() -> None:
    with pytest.raises(CatalogError) as caught:
        actions.do_create_target(None, name="live", kind="shm")
    assert caught.value.field == "name"


def test_publish_is_compare_and_set_and_skips_unchanged_specs(config_store_url: str) -> None:
    _source()
    first = publish_catalog("test")
    assert first is not None and first.version == 1
    assert publish_catalog("test") is None  # nothing changed
    # Another writer moved the store on: the next publish builds on its version.
    store = open_store(config_store_url)
    store.put(store.get(), 1)
    DataSource.objects.update(symbols=["ETH-USD"])
    again = publish_catalog("test")
    assert again is not None and again.version == 3
    assert store.get().sources["sim"].symbols == ["ETH-USD"]
