"""Rule plugins: none are built in yet (this package is what ``RULES`` imports)."""

__all__: list[str] = []
