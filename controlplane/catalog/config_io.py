"""config.toml <-> catalog: import through the actions, export in the loader's format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from controlplane.catalog import actions
from controlplane.catalog.models import DataSource, DeliveryTarget, ProcessingRule
from controlplane.catalog.toml_writer import toml_key, toml_value
from pipelines.registry import CALCULATORS
from pipelines.spec import PipelineSpec

__all__ = ["catalog_is_empty", "do_import_spec", "export_toml"]


def catalog_is_empty() -> bool:
    return not (
        DataSource.objects.exists()
        or ProcessingRule.objects.exists()
        or DeliveryTarget.objects.exists()
    )


def _upsert(model: type, create: Any, update: Any, user: Any, values: dict[str, Any]) -> str:
    existing = model.objects.filter(name=values["name"]).first()  # type: ignore[attr-defined]
    if existing is None:
        create(user, **values)
        return "created"
    update(existing, user, **values)
    return "updated"


def _fields(name: str, entry: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The catalog values of one spec entry: its name and these fields, as plain lists and dicts."""
    values: dict[str, Any] = {"name": name}
    for field in fields:
        value = getattr(entry, field)
        values[field] = list(value) if isinstance(value, tuple) else value
        if isinstance(value, Mapping):
            values[field] = dict(value)
    return values


# What each spec section becomes in the catalog: (label, model, create, update, fields).
_SECTIONS: tuple[tuple[str, str, type, Any, Any, tuple[str, ...]], ...] = (
    ("sources", "source", DataSource, actions.do_create_source, actions.do_update_source,
     ("kind", "protocol", "endpoint", "mapping", "symbols", "fields", "params", "enabled")),
    ("calculators", "rule", ProcessingRule, actions.do_create_rule, actions.do_update_rule,
     ("kind", "params", "symbols", "enabled")),
    ("rules", "rule", ProcessingRule, actions.do_create_rule, actions.do_update_rule,
     ("kind", "params", "symbols", "action", "enabled")),
    ("sinks", "target", DeliveryTarget, actions.do_create_target, actions.do_update_target,
     ("kind", "params", "topics", "enabled")),
)  # fmt: skip


def do_import_spec(user: Any, spec: PipelineSpec) -> dict[str, str]:
    """Create or update one catalog entry per spec entry, in one transaction (one publish).

    A parameterless ``shm`` sink is the dashboard's ``live`` sink, which every compiled spec has
    anyway, so it is not imported as a separate target.
    """
    report: dict[str, str] = {}
    with transaction.atomic():
        for section, label, model, create, update, fields in _SECTIONS:
            entries: dict[str, Any] = getattr(spec, section)
            for name, entry in entries.items():
                if section == "sinks" and entry.kind == "shm" and not entry.params:
                    report[f"{label} {name}"] = "skipped (the live shm sink is always present)"
                    continue
                values = _fields(name, entry, fields)
                report[f"{label} {name}"] = _upsert(model, create, update, user, values)
    return report


def _table(header: str, values: dict[str, Any]) -> list[str]:
    lines = [f"[{header}]"]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items()]
    return [*lines, ""]


def export_toml() -> str:
    """The catalog as config.toml (nested-table form); disabled rules and targets as comments."""
    out = ["# Exported by `manage.py export_config`; load with `manage.py import_config`.", ""]
    out += ["[data_sources]", ""]
    for s in DataSource.objects.all():
        values: dict[str, Any] = {"type": s.kind}
        for key in ("protocol", "endpoint", "mapping"):
            if getattr(s, key):
                values[key] = getattr(s, key)
        values |= {"symbols": s.symbols, "fields": s.fields, "enabled": s.enabled, **s.params}
        out += _table(f"data_sources.{toml_key(s.name)}", values)
    rules = list(ProcessingRule.objects.all())
    out += ["[processing]", ""]
    for r in rules:
        section = "calculators" if r.kind in CALCULATORS else "rules"
        values = {"kind": r.kind, "symbols": r.symbols, **r.params}
        if section == "rules":
            values["action"] = r.action
        table = _table(f"processing.{section}.{toml_key(r.name)}", values)
        out += table if r.enabled else ["# disabled:", *(f"# {line}" for line in table)]
    out += ["[delivery]", ""]
    for t in DeliveryTarget.objects.all():
        table = _table(
            f"delivery.{toml_key(t.name)}", {"kind": t.kind, "topics": t.topics, **t.params}
        )
        out += table if t.enabled else ["# disabled:", *(f"# {line}" for line in table)]
    return "\n".join(out)
