"""Type stub of the compiled twins of the kernels in
:mod:`pipelines.core.calculators.top_of_book`."""

from pipelines.core.book import Book

class MidKernel:
    def update_book(self, book: Book, ts: int = 0) -> float | None: ...

class MicropriceKernel:
    def update_book(self, book: Book, ts: int = 0) -> float | None: ...

class SpreadKernel:
    bps: bool
    def __init__(self, bps: bool) -> None: ...
    def update_book(self, book: Book, ts: int = 0) -> float | None: ...

class ImbalanceKernel:
    levels: int
    def __init__(self, levels: int) -> None: ...
    def update_book(self, book: Book, ts: int = 0) -> float | None: ...
