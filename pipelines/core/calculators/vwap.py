"""``kind="vwap"``: volume-weighted average trade price over the last N trades and/or T seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import msgspec

from pipelines.core.calculators.base import Feed
from pipelines.core.calculators.vwap_kernel import VwapKernel
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Vwap", "VwapParams"]


class VwapParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


@CALCULATORS.register
class Vwap(Rolling[VwapParams]):
    """``ref + sum(q * (p - ref)) / sum(q)``; None while the window holds no size."""

    kind: ClassVar[str] = "vwap"
    Params: ClassVar[type[msgspec.Struct]] = VwapParams
    kernel: VwapKernel

    def __init__(self, params: VwapParams) -> None:
        self.kernel = kernel = VwapKernel()
        super().__init__(params)
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update_trade = kernel.update_trade  # type: ignore[method-assign]

    @property
    def input(self) -> str:
        return "trade_size"

    def feeds(self) -> list[tuple[Feed, Callable[..., float | None]]]:
        return [("trade_size", self.update_trade)]

    def update_trade(self, price: float, size: float, ts: int = 0) -> float | None:
        """Fold in one trade (price and size in instrument units); replaced by the kernel's."""
        return self.kernel.update_trade(price, size, ts)

    def reconfigure(self, params: VwapParams) -> bool:
        self.resize(params)
        return True
