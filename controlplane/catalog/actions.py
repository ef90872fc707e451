"""``do_*``: every write to the catalog. Each audits, and publishes the spec after commit."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from controlplane.audit.actions import actor_name, do_record_audit
from controlplane.catalog.checks import (
    CatalogError,
    check_name,
    check_params,
    check_protocol,
    check_strings,
    check_topics,
)
from controlplane.catalog.compile import LIVE_SINK
from controlplane.catalog.models import DataSource, DeliveryTarget, ProcessingRule
from controlplane.catalog.publish import publish_catalog
from controlplane.side_effects import after_commit

__all__ = [
    "CatalogError",
    "do_create_rule",
    "do_create_source",
    "do_create_target",
    "do_delete_rule",
    "do_delete_source",
    "do_delete_target",
    "do_publish_catalog",
    "do_update_rule",
    "do_update_source",
    "do_update_target",
]

_ENTRY_OF = {DataSource: "source", ProcessingRule: "rule", DeliveryTarget: "target"}


def _check(model: type, values: dict[str, Any], pk: int | None) -> dict[str, Any]:
    entry = _ENTRY_OF[model]
    out = dict(values)
    out["name"] = check_name(model, values.get("name", ""), pk)
    if model is DeliveryTarget and out["name"] == LIVE_SINK:
        raise CatalogError("name", f"{LIVE_SINK!r} is reserved for the dashboard's live sink.")
    out["kind"] = (values.get("kind") or "").strip()
    out["params"] = check_params(entry, out["kind"], values.get("params"))
    out["enabled"] = bool(values.get("enabled", True))
    if "symbols" in values:
        out["symbols"] = check_strings("symbols", values["symbols"])
    if "fields" in values:
        out["fields"] = check_strings("fields", values["fields"])
    if "protocol" in values:
        out["protocol"] = check_protocol(values["protocol"])
    if "topics" in values:
        out["topics"] = check_topics(values["topics"])
    if "action" in values and values["action"] not in dict(ProcessingRule.ACTIONS):
        raise CatalogError("action", f"one of {', '.join(dict(ProcessingRule.ACTIONS))}")
    unknown = set(out) - {f.name for f in model._meta.get_fields()}  # type: ignore[attr-defined]
    if unknown:
        raise CatalogError(sorted(unknown)[0], "unknown field")
    return out


def _snapshot(instance: Any) -> dict[str, Any]:
    skip = {"id", "created_at", "updated_at"}
    return {
        f.name: getattr(instance, f.name)
        for f in instance._meta.concrete_fields
        if f.name not in skip
    }


def _name_taken(model: type, name: str, pk: int | None, exc: IntegrityError) -> CatalogError:
    """The unique constraint is the check: a writer that raced past ``check_name`` lands here."""
    clash = model.objects.filter(name=name)  # type: ignore[attr-defined]
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if not clash.exists():
        raise exc
    return CatalogError("name", f"{name!r} is already taken.")


def _create(model: type, user: Any, values: dict[str, Any]) -> Any:
    clean = _check(model, values, None)
    actor = actor_name(user)
    try:
        with transaction.atomic():
            instance = model.objects.create(**clean)  # type: ignore[attr-defined]
            do_record_audit(actor, f"{_ENTRY_OF[model]}.create", instance.name, _snapshot(instance))
            after_commit(publish_catalog, actor)
    except IntegrityError as exc:
        raise _name_taken(model, clean["name"], None, exc) from None
    return instance


def _update(instance: Any, user: Any, changes: dict[str, Any]) -> Any:
    model = type(instance)
    before = _snapshot(instance)
    clean = _check(model, {**before, **changes}, instance.pk)
    actor = actor_name(user)
    try:
        with transaction.atomic():
            for key, value in clean.items():
                setattr(instance, key, value)
            instance.save()
            after = _snapshot(instance)
            diff = {k: {"old": before[k], "new": v} for k, v in after.items() if before.get(k) != v}
            do_record_audit(actor, f"{_ENTRY_OF[model]}.update", instance.name, {"changes": diff})
            after_commit(publish_catalog, actor)
    except IntegrityError as exc:
        for key, value in before.items():  # the instance as it still is in the database
            setattr(instance, key, value)
        raise _name_taken(model, clean["name"], instance.pk, exc) from None
    return instance


def _delete(instance: Any, user: Any) -> None:
    actor = actor_name(user)
    with transaction.atomic():
        snapshot = _snapshot(instance)
        instance.delete()
        do_record_audit(actor, f"{_ENTRY_OF[type(instance)]}.delete", snapshot["name"], snapshot)
        after_commit(publish_catalog, actor)


def _given(**fields: Any) -> dict[str, Any]:
    """The fields a caller passed (``None``: not given, the model's default or unchanged)."""
    return {name: value for name, value in fields.items() if value is not None}


def do_create_source(
    user: Any,
    *,
    name: str,
    kind: str,
    protocol: str | None = None,
    endpoint: str | None = None,
    mapping: str | None = None,
    symbols: list[str] | None = None,
    fields: list[str] | None = None,
    params: dict[str, Any] | None = None,
    enabled: bool | None = None,
) -> DataSource:
    values = _given(
        name=name,
        kind=kind,
        protocol=protocol,
        endpoint=endpoint,
        mapping=mapping,
        symbols=symbols,
        fields=fields,
        params=params,
        enabled=enabled,
    )
    return _create(DataSource, user, values)


def do_update_source(
    source: DataSource,
    user: Any,
    *,
    name: str | None = None,
    kind: str | None = None,
    protocol: str | None = None,
    endpoint: str | None = None,
    mapping: str | None = None,
    symbols: list[str] | None = None,
    fields: list[str] | None = None,
    params: dict[str, Any] | None = None,
    enabled: bool | None = None,
) -> DataSource:
    """Change the fields given (the others keep their values)."""
    changes = _given(
        name=name,
        kind=kind,
        protocol=protocol,
        endpoint=endpoint,
        mapping=mapping,
        symbols=symbols,
        fields=fields,
        params=params,
        enabled=enabled,
    )
    return _update(source, user, changes)


def do_delete_source(source: DataSource, user: Any) -> None:
    _delete(source, user)


def do_create_rule(
    user: Any,
    *,
    name: str,
    kind: str,
    params: dict[str, Any] | None = None,
    symbols: list[str] | None = None,
    action: str | None = None,
    enabled: bool | None = None,
) -> ProcessingRule:
    values = _given(
        name=name, kind=kind, params=params, symbols=symbols, action=action, enabled=enabled
    )
    return _create(ProcessingRule, user, values)


def do_update_rule(
    rule: ProcessingRule,
    user: Any,
    *,
    name: str | None = None,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    symbols: list[str] | None = None,
    action: str | None = None,
    enabled: bool | None = None,
) -> ProcessingRule:
    """Change the fields given (the others keep their values)."""
    changes = _given(
        name=name, kind=kind, params=params, symbols=symbols, action=action, enabled=enabled
    )
    return _update(rule, user, changes)


def do_delete_rule(rule: ProcessingRule, user: Any) -> None:
    _delete(rule, user)


def do_create_target(
    user: Any,
    *,
    name: str,
    kind: str,
    params: dict[str, Any] | None = None,
    topics: list[str] | None = None,
    enabled: bool | None = None,
) -> DeliveryTarget:
    values = _given(name=name, kind=kind, params=params, topics=topics, enabled=enabled)
    return _create(DeliveryTarget, user, values)


def do_update_target(
    target: DeliveryTarget,
    user: Any,
    *,
    name: str | None = None,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    topics: list[str] | None = None,
    enabled: bool | None = None,
) -> DeliveryTarget:
    """Change the fields given (the others keep their values)."""
    changes = _given(name=name, kind=kind, params=params, topics=topics, enabled=enabled)
    return _update(target, user, changes)


def do_delete_target(target: DeliveryTarget, user: Any) -> None:
    _delete(target, user)


def do_publish_catalog(user: Any, *, workers: int | None = None) -> None:
    """Publish the current catalog (after commit when inside a transaction)."""
    after_commit(publish_catalog, actor_name(user), workers=workers)
