"""The core: books, calculators and rules (pure, synchronous, no I/O)."""

from pipelines.core.book import Book, BookSideLevels

__all__ = ["Book", "BookSideLevels"]
