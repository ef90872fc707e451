"""config.toml <-> catalog: import through the actions, export in the loader's format."""

from __future__ import annotations

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


def do_import_spec(user: Any, spec: PipelineSpec) -> dict[str, str]:
    """Create or update one catalog entry per spec entry, in one transaction (one publish).

    A parameterless ``shm`` sink is the dashboard's ``live`` sink, which every compiled spec has
    anyway, so it is not imported as a separate target.
    """
    report: dict[str, str] = {}
    with transaction.atomic():
        for name, source in spec.sources.items():
            report[f"source {name}"] = _upsert(
                DataSource,
                actions.do_create_source,
                actions.do_update_source,
                user,
                {
                    "name": name,
                    "kind": source.kind,
                    "protocol": source.protocol,
                    "endpoint": source.endpoint,
                    "mapping": source.mapping,
                    "symbols": list(source.symbols),
                    "fields": list(source.fields),
                    "params": dict(source.params),
                    "enabled": source.enabled,
                },
            )
        for name, calc in spec.calculators.items():
            report[f"rule {name}"] = _upsert(
                ProcessingRule,
                actions.do_create_rule,
                actions.do_update_rule,
                user,
                {
                    "name": name,
                    "kind": calc.kind,
                    "params": dict(calc.params),
                    "symbols": list(calc.symbols),
                    "enabled": calc.enabled,
                },
            )
        for name, rule in spec.rules.items():
            report[f"rule {name}"] = _upsert(
                ProcessingRule,
                actions.do_create_rule,
                actions.do_update_rule,
                user,
                {
                    "name": name,
                    "kind": rule.kind,
                    "params": dict(rule.params),
                    "symbols": list(rule.symbols),
                    "action": rule.action,
                    "enabled": rule.enabled,
                },
            )
        for name, sink in spec.sinks.items():
            if sink.kind == "shm" and not sink.params:
                report[f"target {name}"] = "skipped (the live shm sink is always present)"
                continue
            report[f"target {name}"] = _upsert(
                DeliveryTarget,
                actions.do_create_target,
                actions.do_update_target,
                user,
                {
                    "name": name,
                    "kind": sink.kind,
                    "params": dict(sink.params),
                    "topics": list(sink.topics),
                    "enabled": sink.enabled,
                },
            )
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
