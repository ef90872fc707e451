"""Storage (write-ahead log, mmap store, Postgres, archive): a later issue."""

__all__: list[str] = []
