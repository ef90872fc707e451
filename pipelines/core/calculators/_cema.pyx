# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twins of :class:`pipelines.core.calculators.ema.EmaKernel` and ``EmaTimeKernel``
(decision 0113): the same float operations in the same order, so bit-identical values."""
from libc.math cimport expm1
from libc.stdint cimport int64_t

from pipelines.core.calculators._ckernel cimport SeriesKernel


cdef class EmaKernel(SeriesKernel):
    cdef public double alpha
    cdef double _value
    cdef bint _seeded

    def __init__(self, double alpha):
        self.alpha = alpha

    @property
    def value(self):
        """The current average (None before the first value)."""
        return self._value if self._seeded else None

    cdef object _update(self, double value, int64_t ts):
        # Seeded with the first value, so the average starts where the series starts.
        if self._seeded:
            self._value = self._value + self.alpha * (value - self._value)
        else:
            self._value = value
            self._seeded = True
        return self._value


cdef class EmaTimeKernel(SeriesKernel):
    cdef public double rate  # per ns
    cdef public int64_t last_ts
    cdef double _value
    cdef bint _seeded

    def __init__(self, double rate):
        self.rate = rate

    @property
    def value(self):
        """The current average (None before the first value)."""
        return self._value if self._seeded else None

    cdef object _update(self, double value, int64_t ts):
        if not self._seeded:
            self._value = value
            self._seeded = True
        elif ts > self.last_ts:
            # expm1 keeps the weight exact for dt far below the half-life.
            self._value -= expm1(-self.rate * <double> (ts - self.last_ts)) * (value - self._value)
        if ts > self.last_ts:
            self.last_ts = ts
        return self._value
