"""Prometheus view of the rule counters, read at scrape time (the hot path only adds ints)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from .ruleset import RuleSet

__all__ = ["RuleCollector"]


class RuleCollector(Collector):
    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules

    def collect(self) -> Iterable[CounterMetricFamily]:
        evaluations = CounterMetricFamily(
            "tickerplant_rule_evaluations", "Rule evaluations", labels=["rule", "kind"]
        )
        hits = CounterMetricFamily(
            "tickerplant_rule_hits", "Rule hits by action", labels=["rule", "kind", "action"]
        )
        for name, entry in sorted(self._rules.entries.items()):
            evaluations.add_metric([name, entry.spec.kind], entry.stats.evaluations)
            hits.add_metric([name, entry.spec.kind, entry.spec.action], entry.stats.hits)
        return [evaluations, hits]
