# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twins of :class:`PriceBandKernel`, :class:`SpikeKernel` and the EWM of
:mod:`pipelines.core.rules.bands` (decision 0113): the same float operations in the same order
(so the same EWM state and verdicts), the same messages; trade prices and sizes stay Python ints
where the reference compares them exactly."""
from libc.math cimport fabs, isnan, sqrt
from libc.stdint cimport int64_t

from pipelines.core.rules._cengine cimport RuleKernel, add_overflow, as_i64


cdef double py_sqrt(double x) except? -1.0:
    # math.sqrt: ValueError below zero (not for NaN), as CPython's.
    if x < 0.0:
        raise ValueError("math domain error")
    return sqrt(x)


cdef class Ewm:
    """Exponentially weighted mean and variance (West's update), O(1)."""

    cdef public double alpha
    cdef public long long count
    cdef public double mean
    cdef public double var

    def __init__(self, window):
        self.alpha = 2.0 / (window + 1)
        self.count = 0
        self.mean = 0.0
        self.var = 0.0

    cpdef add(self, double value):
        cdef double diff, increment
        if not self.count:
            self.mean = value
        else:
            diff = value - self.mean
            increment = self.alpha * diff
            self.mean += increment
            self.var = (1.0 - self.alpha) * (self.var + diff * increment)
        self.count += 1


cdef class PriceBandKernel(RuleKernel):
    """The band check and its EWM reference."""

    cdef public Ewm reference
    cdef public object input
    cdef public object band
    cdef bint _percent
    cdef public double k
    cdef public double percent
    cdef public double min_percent
    cdef public long long warmup

    def __init__(self, params):
        self.reference = Ewm(params.window)
        self.configure(params)

    def configure(self, params):
        self.input = params.input
        self.band = params.band
        self._percent = params.band == "percent"
        self.k = params.k
        self.percent = params.percent
        self.min_percent = params.min_percent
        self.warmup = params.warmup
        self.reference.alpha = 2.0 / (params.window + 1)

    cdef object _check(self, double value, bint text):
        cdef Ewm reference = self.reference
        cdef double mean, width, floor
        verdict = None
        if reference.count >= self.warmup:
            mean = reference.mean
            if self._percent:
                width = fabs(mean) * self.percent / 100.0
            else:
                width = self.k * py_sqrt(reference.var)
                floor = fabs(mean) * self.min_percent / 100.0
                width = floor if floor > width else width  # max(width, floor), NaN as Python's
            if fabs(value - mean) > width:
                verdict = f"{self.input} {value:g} outside {mean:g} ± {width:g}" if text else True
        reference.add(value)
        return verdict

    def check_value(self, double value):
        return self._check(value, True)

    cdef object _check_trade(self, object trade, bint text):
        return self._check(float(trade.price), text)

    cdef object _check_top(self, object bid, object ask, object book, bint text):
        cdef long long b, a
        if bid is None or ask is None:
            return None
        if as_i64(bid, &b) and as_i64(ask, &a):
            return self._check_prices(b, a, book, text)
        return self._check((bid + ask) / 2.0, text)

    cdef object _check_prices(self, int64_t bid, int64_t ask, object book, bint text):
        cdef long long total
        if not add_overflow(bid, ask, &total):
            return self._check(<double> total / 2.0, text)  # int / float: the int rounded once
        return self._check((<object> bid + <object> ask) / 2.0, text)


cdef class SpikeKernel(RuleKernel):
    """The price move and size checks on trades."""

    cdef public object metric
    cdef bint _price
    cdef public object last_price
    cdef public Ewm sizes
    cdef public double threshold
    cdef public long long warmup

    def __init__(self, params):
        self.metric = params.metric
        self._price = params.metric == "price"
        self.last_price = 0
        self.sizes = Ewm(params.window)
        self.configure(params)

    def configure(self, params):
        self.threshold = params.threshold
        self.warmup = params.warmup
        self.sizes.alpha = 2.0 / (params.window + 1)

    cdef object _check_trade(self, object trade, bint text):
        # Prices and sizes are Python ints compared with floats: Python objects keep the
        # reference's exact comparisons.
        if self._price:
            last = self.last_price
            self.last_price = trade.price
            if last and abs(trade.price - last) * 100.0 > self.threshold * last:
                if not text:
                    return True
                return f"price moved {100.0 * (trade.price - last) / last:+.2f}% in one trade"
            return None
        cdef Ewm sizes = self.sizes
        verdict = None
        if sizes.count >= self.warmup and trade.size > self.threshold * sizes.mean:
            if text:
                verdict = f"size {trade.size} > {self.threshold:g} x average {sizes.mean:.0f}"
            else:
                verdict = True
        sizes.add(float(trade.size))
        return verdict
