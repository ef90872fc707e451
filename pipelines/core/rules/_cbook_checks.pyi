"""Type stub of the compiled twins of the kernels in :mod:`pipelines.core.rules.book_checks`."""

from pipelines.core.book import Book
from pipelines.core.rules._cengine import RuleKernel

class CrossedBookKernel(RuleKernel):
    include_locked: bool
    def __init__(self, include_locked: bool) -> None: ...

class MaxSpreadKernel(RuleKernel):
    max_bps: float
    max_spread: str
    def __init__(self, max_bps: float, max_spread: str) -> None: ...
    def configure(self, max_bps: float, max_spread: str) -> None: ...
    def check_top(self, bid: int | None, ask: int | None, book: Book) -> str | None: ...
