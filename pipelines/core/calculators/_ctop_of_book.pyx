# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twins of the kernels in :mod:`pipelines.core.calculators.top_of_book` (decision 0113).

The book is read through its public methods, as the reference does. Prices and sizes are Python
ints of any size: the arithmetic runs in C int64 / double only where that gives the reference's
value exactly (no overflow, and ints converted to doubles exactly or with the one rounding Python
does too); anything bigger takes the same expression on Python objects. So the values are
bit-identical for every input.
"""
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_Check
from libc.math cimport pow
from libc.stdint cimport int64_t

from pipelines.core._cbook cimport Book as CBook

cdef extern from *:
    bint add_overflow "__builtin_add_overflow"(long long a, long long b, long long *res) nogil
    bint sub_overflow "__builtin_sub_overflow"(long long a, long long b, long long *res) nogil
    bint mul_overflow "__builtin_mul_overflow"(long long a, long long b, long long *res) nogil

# Doubles hold every integer up to 2**53 exactly.
cdef long long EXACT = 1LL << 53


cdef inline bint as_i64(object value, long long *out) except -1:
    # The int's value in *out; False when it is not an int or does not fit (use Python objects).
    cdef int overflow = 0
    if not PyLong_Check(value):
        return False
    out[0] = PyLong_AsLongLongAndOverflow(value, &overflow)
    return overflow == 0


cdef inline double scale(object decimals) except? -1.0:
    # 10.0 ** decimals as CPython computes it (C pow on doubles) for the usual 0..18 decimals.
    cdef long long d
    if as_i64(decimals, &d) and 0 <= d <= 30:
        return pow(10.0, <double> d)
    return 10.0 ** decimals


cdef class MidKernel:
    """``(best_bid + best_ask) / 2`` in price units."""

    def update_book(self, book, ts=0):
        cdef int64_t b64, a64
        cdef long long b, a, s
        if type(book) is CBook and (<CBook> book)._best_prices(&b64, &a64):
            b = b64  # both prices in C
            a = a64
        else:
            bid = book.best_bid_price()
            ask = book.best_ask_price()
            if bid is None or ask is None:
                return None
            if not (as_i64(bid, &b) and as_i64(ask, &a)):
                return (bid + ask) / (2 * 10.0 ** book.price_decimals)
        if not add_overflow(b, a, &s):
            # int / float in Python: the int rounded once to a double, then divided.
            return <double> s / (2 * scale(book.price_decimals))
        return (<object> b + <object> a) / (2 * 10.0 ** book.price_decimals)


cdef class MicropriceKernel:
    """``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: the size-weighted mid."""

    def update_book(self, book, ts=0):
        best_bid = book.best_bid()
        best_ask = book.best_ask()
        if best_bid is None or best_ask is None:
            return None
        bid, bid_size = best_bid
        ask, ask_size = best_ask
        cdef long long b, bq, a, aq, p1, p2, num, den
        cdef double denominator
        if (
            as_i64(bid, &b) and as_i64(bid_size, &bq) and as_i64(ask, &a)
            and as_i64(ask_size, &aq)
            and not mul_overflow(b, aq, &p1) and not mul_overflow(a, bq, &p2)
            and not add_overflow(p1, p2, &num) and not add_overflow(bq, aq, &den)
        ):
            denominator = <double> den * scale(book.price_decimals)
            if denominator == 0.0:
                raise ZeroDivisionError("float division by zero")
            return <double> num / denominator
        return (bid * ask_size + ask * bid_size) / (
            (bid_size + ask_size) * 10.0 ** book.price_decimals
        )


cdef class SpreadKernel:
    """``ask - bid`` in price units, or (``bps``) ``10,000 * (ask - bid) / mid``."""

    cdef public bint bps

    def __init__(self, bint bps):
        self.bps = bps

    def update_book(self, book, ts=0):
        cdef int64_t b64, a64
        cdef long long b, a, d, s
        if type(book) is CBook and (<CBook> book)._best_prices(&b64, &a64):
            b = b64  # both prices in C
            a = a64
        else:
            bid = book.best_bid_price()
            ask = book.best_ask_price()
            if bid is None or ask is None:
                return None
            if not (as_i64(bid, &b) and as_i64(ask, &a)):
                if self.bps:
                    return 20_000.0 * (ask - bid) / (ask + bid) if ask + bid else None
                return (ask - bid) / 10.0 ** book.price_decimals
        if not sub_overflow(a, b, &d) and not add_overflow(a, b, &s):
            if self.bps:
                # 20_000.0 * int, then float / int: each int rounded once to a double.
                return 20_000.0 * <double> d / <double> s if s else None
            return <double> d / scale(book.price_decimals)
        bid_, ask_ = <object> b, <object> a
        if self.bps:
            return 20_000.0 * (ask_ - bid_) / (ask_ + bid_) if ask_ + bid_ else None
        return (ask_ - bid_) / 10.0 ** book.price_decimals


cdef class ImbalanceKernel:
    """``(bid_volume - ask_volume) / (bid_volume + ask_volume)`` over the top ``levels``."""

    cdef public object levels

    def __init__(self, levels):
        self.levels = levels

    def update_book(self, book, ts=0):
        cdef long long bv = 0, av = 0, q, diff, total
        cdef bint exact = True
        levels = self.levels
        if levels == 1:
            best_bid = book.best_bid()
            best_ask = book.best_ask()
            if best_bid is None or best_ask is None:
                return None
            bid_volume = best_bid[1]
            ask_volume = best_ask[1]
            exact = as_i64(bid_volume, &bv) and as_i64(ask_volume, &av)
        else:
            bids, asks = book.top(levels)
            if not bids or not asks:
                return None
            for _, size in bids:
                if not (exact and as_i64(size, &q) and not add_overflow(bv, q, &bv)):
                    exact = False
                    break
            for _, size in asks:
                if not (exact and as_i64(size, &q) and not add_overflow(av, q, &av)):
                    exact = False
                    break
            if not exact:
                bid_volume = ask_volume = 0
                for _, size in bids:
                    bid_volume += size
                for _, size in asks:
                    ask_volume += size
        # int / int in Python is the correctly rounded quotient; two doubles divided give the
        # same when both ints are exact doubles (|n| <= 2**53).
        if (
            exact and not sub_overflow(bv, av, &diff) and not add_overflow(bv, av, &total)
            and -EXACT <= diff <= EXACT and -EXACT <= total <= EXACT
        ):
            return <double> diff / <double> total if total else None
        if exact:
            bid_volume, ask_volume = bv, av
        total_ = bid_volume + ask_volume
        return (bid_volume - ask_volume) / total_ if total_ else None
