"""The shape every calculator plugin has.

One instance per (calculator spec, stream, symbol): its state belongs to one series. ``update``
is called once per new input value and must be O(1). ``reconfigure`` takes new params in place and
keeps the state it can (an EMA keeps its current value under a new window).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

import msgspec

__all__ = ["Calculator", "CalculatorInput"]

CalculatorInput = Literal["mid", "trade"]


class Calculator(ABC):
    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, params: msgspec.Struct) -> None:
        self.params = params

    @property
    def input(self) -> CalculatorInput:
        """Which series feeds ``update``: the book's mid (default) or trade prices."""
        value: CalculatorInput = getattr(self.params, "input", "mid")
        return value

    @abstractmethod
    def update(self, value: float) -> float:
        """Fold in one value and return the new output."""

    def reconfigure(self, params: msgspec.Struct) -> bool:
        """Take new params keeping state; False means the caller must build a fresh instance."""
        return False

    def describe(self) -> str:
        """``kind(param=value, ...)``: what a Metric's ``source`` names."""
        fields = ", ".join(
            f"{name}={getattr(self.params, name)}" for name in self.params.__struct_fields__
        )
        return f"{self.kind}({fields})"
