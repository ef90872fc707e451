# C-level declaration of the compiled series kernels' common base (pipelines/core/calculators/
# _ckernel.pyx), so a compiled caller can fold a value in without a Python call
# (docs/internal/core-accel-interface.md). Every compiled ``update(value, ts)`` is ``_update``.
from libc.stdint cimport int64_t


cdef class SeriesKernel:
    cdef object _update(self, double value, int64_t ts)
