"""Type stub of the compiled series kernels' common base."""

class SeriesKernel:
    def update(self, value: float, ts: int = 0) -> float | None: ...
