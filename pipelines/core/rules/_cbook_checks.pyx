# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twins of :class:`CrossedBookKernel` and :class:`MaxSpreadKernel` of
:mod:`pipelines.core.rules.book_checks` (decision 0113): the same checks and messages, int64
arithmetic where the reference's exact int arithmetic fits in it, Python ints otherwise."""
from libc.stdint cimport int64_t

from pipelines.core.rules._cengine cimport (
    RuleKernel,
    add_overflow,
    as_i64,
    mul_overflow,
    sub_overflow,
)
from pipelines.events import parse_scaled

# Doubles hold every integer up to 2**53 exactly.
cdef long long EXACT = 1LL << 53


cdef class CrossedBookKernel(RuleKernel):
    """The crossed/locked check on the best prices."""

    cdef public bint include_locked

    def __init__(self, bint include_locked):
        self.include_locked = include_locked

    cdef object _check_top(self, object bid, object ask, object book, bint text):
        cdef long long b, a
        if bid is None or ask is None:
            return None
        if as_i64(bid, &b) and as_i64(ask, &a):
            return self._check_prices(b, a, book, text)
        if bid > ask:
            return f"crossed: bid {bid} > ask {ask}" if text else True
        if bid == ask and self.include_locked:
            return f"locked: bid = ask = {bid}" if text else True
        return None

    cdef object _check_prices(self, int64_t bid, int64_t ask, object book, bint text):
        if bid > ask:
            return f"crossed: bid {bid} > ask {ask}" if text else True
        if bid == ask and self.include_locked:
            return f"locked: bid = ask = {bid}" if text else True
        return None


cdef class MaxSpreadKernel(RuleKernel):
    """The spread limits on the best prices."""

    cdef public double max_bps
    cdef public object max_spread
    cdef object _decimals  # the book scale _limit is at (-1: none yet)
    cdef object _limit     # max_spread at that scale

    def __init__(self, double max_bps, max_spread):
        self.configure(max_bps, max_spread)

    def configure(self, double max_bps, max_spread):
        self.max_bps = max_bps
        self.max_spread = max_spread
        self._decimals = -1
        self._limit = 0

    cdef object _check_top(self, object bid, object ask, object book, bint text):
        cdef long long b, a
        if bid is None or ask is None:
            return None
        if as_i64(bid, &b) and as_i64(ask, &a):
            return self._check_prices(b, a, book, text)
        if self.max_spread:
            spread_ = ask - bid
            if self._spread_hit(spread_, book):
                return f"spread {spread_} > {self._limit} (scale {book.price_decimals})" if text else True
        cdef double max_bps = self.max_bps
        if not (max_bps and bid + ask > 0 and (ask - bid) * 20_000 > max_bps * (bid + ask)):
            return None
        if not text:
            return True
        spread_ = ask - bid
        return f"spread {spread_ * 20_000 / (bid + ask):.1f} bps > {max_bps:g} bps"

    cdef bint _spread_hit(self, object spread, object book) except -1:
        # The max_spread limit at the book's scale (parsed once per scale), exact on Python ints.
        if self._decimals != book.price_decimals:
            self._limit = parse_scaled(self.max_spread, book.price_decimals)
            self._decimals = book.price_decimals
        return spread > self._limit

    cdef object _check_prices(self, int64_t bid, int64_t ask, object book, bint text):
        cdef long long spread, total, scaled
        if self.max_spread:
            spread_ = ask - <object> bid  # a Python int: exact, whatever the limit
            if self._spread_hit(spread_, book):
                return f"spread {spread_} > {self._limit} (scale {book.price_decimals})" if text else True
        cdef double max_bps = self.max_bps
        if not max_bps:
            return None
        if (
            not sub_overflow(ask, bid, &spread) and not add_overflow(bid, ask, &total)
            and not mul_overflow(spread, 20_000, &scaled) and -EXACT <= scaled <= EXACT
        ):
            # int > float in Python is exact: here the int is an exact double, so C compares
            # the same; max_bps * (bid + ask) rounds the int once, as Python's float(int) does.
            if not (total > 0 and <double> scaled > max_bps * <double> total):
                return None
        else:
            bid_, ask_ = <object> bid, <object> ask
            if not (bid_ + ask_ > 0 and (ask_ - bid_) * 20_000 > max_bps * (bid_ + ask_)):
                return None
        if not text:
            return True
        bid_, ask_ = <object> bid, <object> ask
        return f"spread {(ask_ - bid_) * 20_000 / (bid_ + ask_):.1f} bps > {max_bps:g} bps"
