"""Rules on the shape of the book: crossed or locked, and a maximum spread.

The plugins (registry, params, reconfiguration); their checks are kernels of
:mod:`.book_kernels`, whose bound methods are the plugins' hooks.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.core.rules.base import Rule, RuleInput, RuleParams
from pipelines.core.rules.book_kernels import CrossedBookKernel, MaxSpreadKernel
from pipelines.events import parse_scaled
from pipelines.registry import RULES

__all__ = ["CrossedBook", "CrossedBookParams", "MaxSpread", "MaxSpreadParams"]


class CrossedBookParams(RuleParams, frozen=True):
    """Hit when the best bid is above the best ask (and, with ``include_locked``, equal to it)."""

    include_locked: bool = True


class MaxSpreadParams(RuleParams, frozen=True, kw_only=True):
    """Hit when the spread exceeds ``max_bps`` basis points of the mid, or ``max_spread`` (a
    decimal string in price units, exact at the book's scale). Zero / empty turns a limit off."""

    max_bps: Annotated[float, Meta(ge=0)] = 0.0
    max_spread: str = ""

    def __post_init__(self) -> None:
        if not self.max_bps and not self.max_spread:
            raise ValueError("set max_bps or max_spread")
        if self.max_spread:
            parse_scaled(self.max_spread, 18)  # a ValueError here names a bad decimal


@RULES.register
class CrossedBook(Rule[CrossedBookParams]):
    kind: ClassVar[str] = "crossed_book"
    Params: ClassVar[type[msgspec.Struct]] = CrossedBookParams
    inputs: frozenset[RuleInput] = frozenset({"book"})

    def __init__(self, params: CrossedBookParams) -> None:
        super().__init__(params)
        self.kernel = kernel = CrossedBookKernel(params.include_locked)
        # The kernel's bound methods are the hooks: no Python frame of the rule per event.
        self.check_book = kernel.check_book  # type: ignore[method-assign]
        self.check_top = kernel.check_top  # type: ignore[method-assign]

    @property
    def include_locked(self) -> bool:
        return self.kernel.include_locked

    def reconfigure(self, params: CrossedBookParams) -> bool:
        self.params = params
        self.kernel.include_locked = params.include_locked
        return True


@RULES.register
class MaxSpread(Rule[MaxSpreadParams]):
    kind: ClassVar[str] = "max_spread"
    Params: ClassVar[type[msgspec.Struct]] = MaxSpreadParams
    inputs: frozenset[RuleInput] = frozenset({"book"})

    def __init__(self, params: MaxSpreadParams) -> None:
        super().__init__(params)
        self.kernel = kernel = MaxSpreadKernel(params.max_bps, params.max_spread)
        self.check_book = kernel.check_book  # type: ignore[method-assign]
        self.check_top = kernel.check_top  # type: ignore[method-assign]

    def reconfigure(self, params: MaxSpreadParams) -> bool:
        self.params = params
        self.kernel.configure(params.max_bps, params.max_spread)
        return True
