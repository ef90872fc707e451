"""The rules of the running spec: validated entries, bound to symbols, swapped between batches.

The configuration side of the rule engine (plain Python: it holds the msgspec params and the
registry); what runs per event is :mod:`.engine`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

import msgspec

from pipelines import accel
from pipelines.core.rules import engine
from pipelines.core.rules.base import Rule
from pipelines.core.rules.engine import BoundRule, RuleStats, SymbolRules
from pipelines.events import Event
from pipelines.registry import RULES
from pipelines.spec import RuleSpec

__all__ = ["RuleEntry", "RuleSet"]


class RuleEntry:
    """A rule of the spec with validated params (its kind's own ``Params``: checked here, since
    the instances it builds and reconfigures take them untyped) and its counters."""

    __slots__ = ("name", "params", "spec", "stats")

    def __init__(self, name: str, spec: RuleSpec, params: msgspec.Struct) -> None:
        RULES.check_params(spec.kind, params)
        self.name = name
        self.spec = spec
        self.params = params
        self.stats = RuleStats()

    def applies_to(self, symbol: str) -> bool:
        return not self.spec.symbols or symbol in self.spec.symbols

    def build(self) -> Rule[Any]:
        plugin: Any = RULES.get(self.spec.kind)
        rule: Rule[Any] = plugin(self.params)
        return rule


class RuleSet:
    """The rules of the running spec; binds them to symbols and swaps them between batches."""

    def __init__(self, reference: bool = False) -> None:
        self.entries: dict[str, RuleEntry] = {}
        # reference: bind the engine's Python code even where it runs compiled (accel.reference:
        # a compiled=False pipeline, whose keeper is Python too, and the agreement tests).
        self.engine: ModuleType = accel.reference(engine.__name__) if reference else engine

    @staticmethod
    def plan(rules: dict[str, RuleSpec]) -> dict[str, RuleEntry]:
        """Validate and test-build every enabled rule (raises on the first bad one)."""
        entries: dict[str, RuleEntry] = {}
        for name, spec in rules.items():
            if spec.enabled:
                entry = RuleEntry(name, spec, RULES.params(spec.kind, spec.params))
                entry.build()
                entries[name] = entry
        return entries

    def bind(self, stream: str, symbol: str) -> SymbolRules:
        rules: SymbolRules = self.engine.SymbolRules(stream, symbol)
        bound_rule = self.engine.BoundRule
        for name, entry in self.entries.items():
            if entry.applies_to(symbol):
                rules.bound[name] = bound_rule(entry, entry.build())
        rules.wire()
        return rules

    def update(self, entries: dict[str, RuleEntry], bound: Iterable[SymbolRules]) -> list[Event]:
        """Swap in ``entries``: an unchanged rule keeps its instance, state and counters; changed
        params go in place where the rule allows it. Returns Status events of released halts."""
        old = self.entries
        for name, entry in entries.items():
            previous = old.get(name)
            if previous is not None and previous.spec.kind == entry.spec.kind:
                entry.stats = previous.stats
        self.entries = dict(entries)
        bound_rule = self.engine.BoundRule
        out: list[Event] = []
        for rules in bound:
            current = rules.bound
            updated: dict[str, BoundRule] = {}
            for name, entry in entries.items():
                if not entry.applies_to(rules.symbol):
                    continue
                kept = current.get(name)
                previous = old.get(name)
                if (
                    kept is not None
                    and previous is not None
                    and previous.spec.kind == entry.spec.kind
                    and (previous.params == entry.params or kept.rule.reconfigure(entry.params))
                ):
                    fresh = bound_rule(entry, kept.rule)
                    fresh.active = kept.active and kept.action == entry.spec.action
                    updated[name] = fresh
                else:
                    updated[name] = bound_rule(entry, entry.build())
            for name in list(rules.halted):
                still = updated.get(name)
                if still is None or still.action != "halt" or not still.active:
                    rules.release(name, 0, 0)
            rules.bound = updated
            rules.wire()
            rules.flush(out.append)
        return out
