"""``kind="vwap"``: volume-weighted average trade price over the last N trades and/or T seconds."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import ClassVar

import msgspec

from pipelines import accel
from pipelines.core.calculators.base import Feed
from pipelines.core.calculators.window import Rolling, RollingKernel, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Vwap", "VwapKernel", "VwapParams"]


class VwapParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class VwapKernel(RollingKernel):
    """``ref + sum(q * (p - ref)) / sum(q)``; None while the window holds no size."""

    def __init__(self) -> None:
        super().__init__()
        self._price: deque[float] = deque()
        self._size: deque[float] = deque()
        self._ref = 0.0
        self._notional = 0.0  # sum of size * (price - ref)
        self._volume = 0.0

    def update_trade(self, price: float, size: float, ts: int = 0) -> float | None:
        if not self._ts:
            self._ref = price
        self._ts.append(ts)
        self._price.append(price)
        self._size.append(size)
        self._notional += size * (price - self._ref)
        self._volume += size
        self._evict(ts)
        volume = self._volume
        return self._ref + self._notional / volume if volume > 0 else None

    def _drop_oldest(self) -> None:
        self._ts.popleft()
        size = self._size.popleft()
        self._notional -= size * (self._price.popleft() - self._ref)
        self._volume -= size

    def _recompute(self) -> None:
        prices = self._price
        self._ref = ref = prices[-1] if prices else 0.0
        self._notional = sum(q * (p - ref) for p, q in zip(prices, self._size, strict=True))
        self._volume = float(sum(self._size))


# The compiled twin of VwapKernel (None: run the Python one). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._cvwap")
Kernel: type[VwapKernel] = _compiled.VwapKernel if _compiled is not None else VwapKernel


@CALCULATORS.register
class Vwap(Rolling[VwapParams]):
    """``ref + sum(q * (p - ref)) / sum(q)``; None while the window holds no size."""

    kind: ClassVar[str] = "vwap"
    Params: ClassVar[type[msgspec.Struct]] = VwapParams
    kernel: VwapKernel  # or its compiled twin

    def __init__(self, params: VwapParams) -> None:
        self.kernel = kernel = Kernel()
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
