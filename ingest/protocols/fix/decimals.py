"""Decimal strings of the wire ↔ exact scaled integers, without Decimal or float on the hot path."""

from __future__ import annotations

from ingest.protocols.base import DecodeError

__all__ = ["decimals_of", "scale"]

_POWERS: list[int] = [10**n for n in range(40)]


def _pow10(n: int) -> int:
    # More than 39 decimals only comes from garbage ("1.000…0001"): still exact, never IndexError.
    return _POWERS[n] if n < 40 else 10**n


def decimals_of(text: str) -> int:
    """Digits after the decimal point of a FIX price/qty string (``"686.50"`` → 2)."""
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def scale(text: str, decimals: int, tag: str = "") -> int:
    """``scale("686.5", 2) == 68650``; raises DecodeError for non-numbers or too many digits."""
    dot = text.find(".")
    try:
        if dot < 0:
            return int(text) * _pow10(decimals)
        places = len(text) - dot - 1
        digits = text[:dot] + text[dot + 1 :]
        if places > decimals:
            # Only trailing zeros may be dropped: "1.50" fits 1 decimal, "1.55" does not.
            excess = places - decimals
            if digits[-excess:].strip("0"):
                raise DecodeError("bad_value", f"{tag}={text} has more than {decimals} decimals")
            return int(digits[:-excess] or "0")
        return int(digits) * _pow10(decimals - places)
    except ValueError:
        raise DecodeError("bad_value", f"{tag}={text!r} is not a decimal number") from None
