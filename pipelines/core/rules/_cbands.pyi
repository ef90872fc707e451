"""Type stub of the compiled twins of the kernels in :mod:`pipelines.core.rules.bands`."""

from typing import Any

from pipelines.core.rules._cengine import RuleKernel

class Ewm:
    alpha: float
    count: int
    mean: float
    var: float
    def __init__(self, window: int) -> None: ...
    def add(self, value: float) -> None: ...

class PriceBandKernel(RuleKernel):
    reference: Ewm
    input: str
    band: str
    k: float
    percent: float
    min_percent: float
    warmup: int
    def __init__(self, params: Any) -> None: ...
    def configure(self, params: Any) -> None: ...
    def check_value(self, value: float) -> str | None: ...

class SpikeKernel(RuleKernel):
    metric: str
    last_price: int
    sizes: Ewm
    threshold: float
    warmup: int
    def __init__(self, params: Any) -> None: ...
    def configure(self, params: Any) -> None: ...
