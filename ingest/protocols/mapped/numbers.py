"""Exact numbers: decimal strings and JSON numbers to integers at a decimal scale.

Prices never pass through a float. JSON floats reach us as their source text (the JSON decoder
is built with ``float_hook=str``), so ``0.1`` and ``"0.1"`` are parsed by the same exact code.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Context, Decimal, DecimalException
from typing import Any, Final

from ingest.protocols.base import (
    INT64_MAX,
    DecodeError,
    check_int64,
    describe_int,
    out_of_range,
)

__all__ = ["POW10", "ScaleCache", "decimals_of", "scale", "timestamp_ns"]

POW10: Final = tuple(10**i for i in range(40))

_UNIT_DECIMALS: Final = {"s": 9, "ms": 6, "us": 3, "ns": 0}


def decimals_of(value: Any) -> int:
    """Digits after the point in a decimal string (``"0.35210000"`` -> 8); 0 for integers."""
    if type(value) is str:
        point = value.find(".")
        if point >= 0 and "e" not in value and "E" not in value:
            return len(value) - point - 1
        return 0
    return 0


def scale(value: Any, decimals: int, scaled: bool = False, int_text: bool = False) -> int:
    """``value`` as an integer at ``decimals``; raises DecodeError when it would lose digits or
    does not fit an event (int64: ``out_of_range``).

    ``scaled`` means integers are already at the scale (a feed that sends price ticks).
    ``int_text`` means integer text (``"5853300"``) is such an integer: CSV has no number type,
    so a CSV cell without a point is what an unquoted integer is in JSON (issue 9). Decimal
    text (``"585.33"``) stays a decimal value either way.
    """
    kind = type(value)
    if int_text and scaled and kind is str and "." not in value:
        integer = _int_text(value)
        if integer is not None:
            value, kind = integer, int  # the integer branch below: one rule for both formats
    result: int
    if kind is str:
        point = value.find(".")
        try:
            if point < 0:
                result = int(value) * POW10[decimals]
            else:
                frac_len = len(value) - point - 1
                if frac_len <= decimals:
                    whole = int(value[:point] + value[point + 1 :])
                    result = whole * POW10[decimals - frac_len]
                else:
                    digits = value[:point] + value[point + 1 : point + 1 + decimals]
                    if value[point + 1 + decimals :].strip("0"):
                        raise DecodeError(
                            "precision", f"{value!r} has more than {decimals} decimals"
                        )
                    result = int(digits)
        except ValueError:
            result = _scale_slow(value, decimals)
    elif kind is int:
        result = value if scaled else value * POW10[decimals]
    else:
        raise DecodeError("number", f"expected a number, got {value!r}")
    if -INT64_MAX <= result <= INT64_MAX:
        return result
    raise out_of_range(f"{_short(value)} at {decimals} decimals", result)


def _int_text(text: str) -> int | None:
    """``text`` as an integer when it is one (exponents and the like are left to ``scale``)."""
    if "e" in text or "E" in text:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _short(value: Any) -> str:
    text = value if type(value) is str else describe_int(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _scale_slow(text: str, decimals: int) -> int:
    # Exponent notation ("1.5e-5") and other forms int() refuses; rare, so Decimal is fine.
    try:
        # A precision that holds every digit of the text: the default 28 would round longer
        # numbers silently. The default exponent range stays (beyond it: Overflow).
        exact = Context(prec=len(text) + abs(decimals) + 2)
        number = Decimal(text).scaleb(decimals, context=exact)
    except (DecimalException, ValueError):  # DecimalException: also Overflow ("1e99999999999")
        raise DecodeError("number", f"not a number: {text!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise DecodeError("precision", f"{text!r} has more than {decimals} decimals")
    try:
        return int(number)
    except ValueError:
        # Past Python's limit on integer digits (sys.get_int_max_str_digits): no real price.
        raise DecodeError("number", f"out of range: {text[:40]!r}") from None


def timestamp_ns(value: Any, unit: str) -> int:
    """A timestamp in ``unit`` (s, ms, us, ns as number or decimal string; or ISO 8601) in ns."""
    if unit == "iso":
        if type(value) is not str:
            raise DecodeError("timestamp", f"expected an ISO 8601 string, got {value!r}")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise DecodeError("timestamp", f"bad ISO 8601 time {value!r}") from None
        if moment.tzinfo is None:
            raise DecodeError("timestamp", f"ISO 8601 time without a zone: {value!r}")
        seconds = int(moment.timestamp())  # whole seconds are exact in a float
        # Years past 2262 are beyond int64 nanoseconds.
        return check_int64(seconds * 1_000_000_000 + moment.microsecond * 1000, repr(value))
    decimals = _UNIT_DECIMALS[unit]
    if type(value) is str and "." in value and len(value) - value.find(".") - 1 > decimals:
        # Sub-nanosecond digits are noise, not an error: truncate them.
        value = value[: value.find(".") + 1 + decimals]
    return scale(value, decimals)


class ScaleCache:
    """``scale`` memoized per decimal string: feeds repeat the same prices and sizes constantly.

    Hot loops call ``values.get(text)`` inline and this object only on a miss. Bounded: the
    table is dropped when it reaches ``limit`` entries (cheaper than LRU bookkeeping per hit).
    """

    __slots__ = ("decimals", "int_text", "limit", "scaled", "values")

    def __init__(
        self, decimals: int, scaled: bool, limit: int = 1 << 16, int_text: bool = False
    ) -> None:
        self.decimals = decimals
        self.scaled = scaled
        self.int_text = int_text
        self.limit = limit
        self.values: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        result = scale(value, self.decimals, self.scaled, self.int_text)
        if type(value) is str:
            if len(self.values) >= self.limit:
                self.values.clear()
            self.values[value] = result
        return result
