"""Decimal strings of the wire ↔ exact scaled integers, without Decimal or float on the hot path."""

from __future__ import annotations

from typing import Any

from ingest.protocols.base import INT64_MAX, DecodeError, out_of_range

__all__ = ["decimals_of", "int_field", "int_or", "scale", "seq_num"]

# Digits of INT64_MAX: a longer run of decimal digits (past leading zeros) cannot fit.
_INT64_DIGITS = len(str(INT64_MAX))

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
            value = int(text) * _pow10(decimals)
        else:
            places = len(text) - dot - 1
            digits = text[:dot] + text[dot + 1 :]
            if places > decimals:
                # Only trailing zeros may be dropped: "1.50" fits 1 decimal, "1.55" does not.
                excess = places - decimals
                if digits[-excess:].strip("0"):
                    raise DecodeError(
                        "bad_value", f"{tag}={text} has more than {decimals} decimals"
                    )
                value = int(digits[:-excess] or "0")
            else:
                value = int(digits) * _pow10(decimals - places)
    except ValueError:
        raise DecodeError("bad_value", f"{tag}={text[:40]!r} is not a decimal number") from None
    if -INT64_MAX <= value <= INT64_MAX:
        return value
    raise out_of_range(f"{tag}={text[:40]} at {decimals} decimals", value)


def int_field(text: str, tag: str) -> int:
    """An integer field's decimal digits (``text.isdecimal()``) as an int; DecodeError when it
    does not fit int64 (never ``int()`` of thousands of digits, which Python refuses)."""
    if len(text) > _INT64_DIGITS and len(text.lstrip("0")) > _INT64_DIGITS:
        raise DecodeError(
            "out_of_range", f"{tag}={text[:24]}... is beyond the int64 range ({len(text)} digits)"
        )
    value = int(text)
    if value <= INT64_MAX:
        return value
    raise out_of_range(tag, value)


def int_or(text: Any, default: int, tag: str) -> int:
    """``int_field(text, tag) if text and text.isdecimal() else default`` (MDEntry 83 and the
    like: a field that is not a number falls back to the default, one too big is an error)."""
    return int_field(text, tag) if text and text.isdecimal() else default


def seq_num(text: str) -> int:
    """MsgSeqNum (34): 0 when it is not a number or beyond int64 (a session layer rejects 0)."""
    if not text.isdecimal():
        return 0
    try:
        return int_field(text, "34")
    except DecodeError:
        return 0
