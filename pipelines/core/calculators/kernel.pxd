# C types of pipelines/core/calculators/kernel.py (one source, docs/decisions/0117). A compiled
# caller holding a SeriesKernel calls update in C; every compiled kernel overrides it.
from libc.stdint cimport int64_t


cdef class SeriesKernel:
    cpdef object update(self, double value, int64_t ts=*)
