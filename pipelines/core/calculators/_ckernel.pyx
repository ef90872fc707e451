# distutils: extra_compile_args = -ffp-contract=off
"""The common base of the compiled series kernels (decision 0113).

``SeriesKernel._update(value, ts)`` is what every compiled kernel's ``update(value, ts)`` runs: a
compiled caller holding the kernel (the bound method's ``__self__``) may call it in C, with the
value as a C double and the time as int64, and get the same result object.
"""
from libc.stdint cimport int64_t


cdef class SeriesKernel:
    cdef object _update(self, double value, int64_t ts):
        raise TypeError(f"{type(self).__name__} is not a series kernel")

    def update(self, double value, int64_t ts=0):
        """Fold in one value of the series (with its time in ns) and return the new output."""
        return self._update(value, ts)
