"""Sums of floats that are the same to the last bit compiled or not, on every Python.

``fsum(values, n)`` is ``math.fsum(values[:n])`` over an ``array('d')``: correctly rounded, so one
answer whatever the order of operations. As Python it *is* ``math.fsum``; compiled it runs
CPython's own algorithm in C over the buffer (``_cexact.pxd``), after a cheap certified sum that
answers most calls (a Neumaier sum whose error bound proves it correctly rounded). The rolling
kernels recompute their sums with it (see :mod:`.rolling_kernel`).

Never use ``sum()`` on floats in a kernel: Python 3.12 made it compensated, a C loop is not.
"""

from __future__ import annotations

import math
from array import array

import cython

if cython.compiled:
    from cython.cimports.pipelines.core.calculators._cexact import tp_fsum, tp_fsum_fast

__all__ = ["fsum", "fsum_certifies"]


def fsum(values: array[float], n: int, fast: bool = True) -> float:
    """``math.fsum(values[:n])``, with its errors (OverflowError on an intermediate overflow,
    ValueError on -inf + inf). ``fast=False`` skips the certified sum (tests pin both paths)."""
    if n < 0 or n > len(values):
        raise IndexError(f"fsum of {n} values from a buffer of {len(values)}")
    if cython.compiled:
        total = 0.0
        if n:
            status = tp_fsum(cython.address(values[0]), n, cython.address(total), fast)
            if status == 1:
                raise OverflowError("intermediate overflow in fsum")
            if status == 2:
                raise ValueError("-inf + inf in fsum")
        return total
    return math.fsum(values[:n])


def fsum_certifies(values: array[float], n: int) -> bool:
    """Whether the certified sum answers for ``values[:n]`` (compiled; tests check both paths
    run). As Python there is no such path: True."""
    if n < 0 or n > len(values):
        raise IndexError(f"fsum of {n} values from a buffer of {len(values)}")
    if cython.compiled:
        total = 0.0
        return n > 0 and tp_fsum_fast(cython.address(values[0]), n, cython.address(total)) != 0
    return True
