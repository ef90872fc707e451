"""Validation and risk rules; importing this package registers the built-ins in ``RULES``.

Built-ins: ``price_band``, ``spike``, ``crossed_book``, ``max_spread``, ``stale_feed``,
``gap_rate``. :class:`RuleSet` binds them to symbols; :mod:`.engine` runs them per event (and
says what each action does).
"""

from pipelines.core.rules import bands, book_checks, feed_checks
from pipelines.core.rules.bands import PriceBand, PriceBandParams, Spike, SpikeParams
from pipelines.core.rules.base import Rule, RuleInput, RuleParams
from pipelines.core.rules.book_checks import (
    CrossedBook,
    CrossedBookParams,
    MaxSpread,
    MaxSpreadParams,
)
from pipelines.core.rules.engine import BoundRule, RuleKernel, RuleStats, SymbolRules
from pipelines.core.rules.feed_checks import GapRate, GapRateParams, StaleFeed, StaleFeedParams
from pipelines.core.rules.ruleset import RuleEntry, RuleSet

__all__ = [
    "BoundRule",
    "CrossedBook",
    "CrossedBookParams",
    "GapRate",
    "GapRateParams",
    "MaxSpread",
    "MaxSpreadParams",
    "PriceBand",
    "PriceBandParams",
    "Rule",
    "RuleEntry",
    "RuleInput",
    "RuleKernel",
    "RuleParams",
    "RuleSet",
    "RuleStats",
    "Spike",
    "SpikeParams",
    "StaleFeed",
    "StaleFeedParams",
    "SymbolRules",
    "bands",
    "book_checks",
    "feed_checks",
]
