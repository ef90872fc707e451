"""The shape every calculator plugin has.

One instance per (calculator spec, stream, symbol): its state belongs to one series. A calculator
says which inputs it consumes through :meth:`Calculator.feeds`; the pipeline builds its dispatch
lists from that once (when calculators change), never per event. Every feed method is O(1)
(amortized, for rolling windows) and returns the new primary output, or ``None`` while the
calculator has nothing to say (too few values, an empty book side, a zero variance where the
output is undefined).

The feeds and their call signatures:

- ``"mid"``: ``(value: float, ts: int)``, the book's mid at the end of each venue message;
- ``"trade"``: ``(value: float, ts: int)``, each trade's price;
- ``"trade_size"``: ``(price: float, size: float, ts: int)``, each trade with its size;
- ``"book"``: ``(book: Book, ts: int)``, the consistent book at the end of each venue message.

``ts`` is the event's ``ts_recv`` in integer nanoseconds (in replay: the recorded receive time).

A calculator with several outputs lists their names in ``outputs`` and writes their values into
``results`` (a list it allocates once) before returning the first; the pipeline publishes one
Metric per output, named ``<calculator name>_<output>``.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Literal, TypeVar

import msgspec

__all__ = ["Calculator", "CalculatorInput", "Feed", "SeriesInput"]

CalculatorInput = Literal["mid", "trade"]
"""The scalar series a series calculator (ema, sma, zscore, ...) folds in."""
SeriesInput = CalculatorInput
Feed = Literal["mid", "trade", "trade_size", "book"]

P = TypeVar("P", bound=msgspec.Struct)


class Calculator(ABC, Generic[P]):
    """Generic in its params: ``class Ema(Calculator[EmaParams])`` gets ``self.params`` typed
    ``EmaParams``. ``Params`` names the same struct at run time (a ClassVar cannot hold a type
    variable); ``Registry.register`` refuses a plugin whose two disagree."""

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]
    outputs: ClassVar[tuple[str, ...]] = ()
    """Names of the outputs of a multi-output calculator; empty for one output."""

    def __init__(self, params: P) -> None:
        self.params = params
        self.results: list[float] = [0.0] * len(self.outputs)

    @property
    def input(self) -> str:
        """The series this calculator follows (``mid``, ``trade``, or its feed for the others)."""
        value: str = getattr(self.params, "input", "mid")
        return value

    def feeds(self) -> list[tuple[Feed, Callable[..., float | None]]]:
        """The inputs consumed and the bound method each one calls (see the module docstring).

        The default: a series calculator fed by its ``input`` param through ``update``.
        """
        series: Feed = getattr(self.params, "input", "mid")
        return [(series, self.update)]

    def update(self, value: float, ts: int = 0) -> float | None:
        """Fold in one value of the series (with its time in ns) and return the new output."""
        raise NotImplementedError(f"{self.kind} is not a series calculator")

    def reconfigure(self, params: P) -> bool:
        """Take new params keeping state; False means the caller must build a fresh instance."""
        return False

    def describe(self) -> str:
        """``kind(param=value, ...)``: what a Metric's ``source`` names (unset params left out)."""
        fields = ", ".join(
            f"{name}={value}"
            for name in self.params.__struct_fields__
            if (value := getattr(self.params, name)) is not None
        )
        return f"{self.kind}({fields})"


def same_input(old: Any, new: Any) -> bool:
    """Whether two params follow the same series (state means nothing across series)."""
    return bool(getattr(old, "input", None) == getattr(new, "input", None))
