"""FIX time values ↔ integer nanoseconds since the Unix epoch (UTC).

Every form below is read exactly (integer arithmetic, no floats); anything else raises
ValueError. Times must fall within int64 nanoseconds (1677 to 2262).

Full timestamps (:func:`parse_fix_time`: SendingTime 52, TransactTime 60, OrigSendingTime 122…):

=================================  ==========================  =================================
form                               example                     meaning
=================================  ==========================  =================================
``YYYYMMDD-HH:MM:SS``              ``20240102-08:58:52``       UTCTimestamp, seconds
``YYYYMMDD-HH:MM:SS.f…``           ``20240102-08:58:52.123``   1 to 9 fraction digits: ms (3),
                                                               µs (6), ns (9) or any other count
                                                               (the digits after "." are a
                                                               decimal fraction of the second)
``YYYYMMDDHHMMSS[f…]``             ``20240102085852123``       CME's compact form (DataMine
                                                               SendingTime): 14 digits of date
                                                               and time, then 0 to 9 fraction
                                                               digits
``YYYYMMDD``                       ``20240102``                UTCDateOnly / LocalMktDate:
                                                               midnight UTC
=================================  ==========================  =================================

Times of day (:func:`parse_time_of_day`: MDEntryTime 273, UTCTimeOnly), nanoseconds after midnight:

=================================  ==========================  =================================
form                               example                     meaning
=================================  ==========================  =================================
``HH:MM:SS[.f…]``                  ``08:58:52.000``            UTCTimeOnly, 0 to 9 fraction digits
``HHMMSS``                         ``085852``                  digits only: seconds
``HHMMSSmmm``                      ``085852123``               digits only: milliseconds
``HHMMSSuuuuuu``                   ``085852123456``            digits only: microseconds
``HHMMSSnnnnnnnnn``                ``085852123456789``         digits only: nanoseconds
the four above less one digit      ``85852000``                the same integer written without
(5, 8, 11 or 14 digits)                                        its leading zero (before 10:00):
                                                               CME's historical FIX writes
                                                               MDEntryTime as the integer
                                                               HHMMSSmmm, ``85852000`` is
                                                               08:58:52.000
=================================  ==========================  =================================

Rule for digits-only times of day (an ambiguous form is resolved by it, never guessed): the text
is an integer ``HHMMSS`` followed by 0, 3, 6 or 9 fraction digits; a length one short of 6, 9, 12
or 15 is that integer without its leading zero, so it is read with a ``0`` put in front (8 digits
are ``0HMMSSmmm``, never ``HHMMSScc``). Other lengths (1-4, 7, 10, 13) are refused: no rule
makes them unambiguous. Hours above 23, minutes above 59 or seconds above 60 (60: a leap second
is legal) are refused whatever the form.

:func:`parse_entry_time` combines MDEntryTime (273) with its date: MDEntryDate (272) when the entry
has one, else the SendingTime's date (the first 8 characters of 52). A 273 that already holds a
full timestamp (``YYYYMMDD-HH:MM:SS…``, or 16 or more digits: the compact form) is read alone.
"""

from __future__ import annotations

import calendar
import functools
import time
from typing import Final

__all__ = [
    "FixTimeError",
    "format_utc_timestamp",
    "parse_entry_time",
    "parse_fix_date",
    "parse_fix_time",
    "parse_time_of_day",
]

_NS_PER_SECOND: Final = 1_000_000_000
_INT64_MAX: Final = 2**63 - 1
_FRACTION_SCALE: Final[list[int]] = [10 ** (9 - n) for n in range(10)]
# Digits-only time of day: its length → (zeros put in front, fraction digits).
_COMPACT_TIME: Final[dict[int, tuple[str, int]]] = {
    5: ("0", 0), 6: ("", 0),
    8: ("0", 3), 9: ("", 3),
    11: ("0", 6), 12: ("", 6),
    14: ("0", 9), 15: ("", 9),
}  # fmt: skip


class FixTimeError(ValueError):
    """An unparsable time; ``tag`` names the field at fault (``"272"``: MDEntryDate)."""

    def __init__(self, tag: str, message: str) -> None:
        self.tag = tag
        super().__init__(message)


@functools.lru_cache(maxsize=4096)
def _day_seconds(year: int, month: int, day: int) -> int:
    # Consecutive messages share a date: cache the calendar arithmetic per day.
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError("date out of range")
    seconds: int = calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0))
    return seconds


def _fraction_ns(digits: str) -> int:
    if not digits:
        return 0
    if len(digits) > 9 or not digits.isdigit():
        raise ValueError(f"bad fraction {digits!r}")
    return int(digits) * _FRACTION_SCALE[len(digits)]


def parse_fix_time(text: str) -> int:
    """Nanoseconds since the epoch of a full timestamp (table above); ValueError otherwise."""
    if len(text) >= 17 and text[8] == "-":
        date, clock = text[:8], text[9:17]
        if clock[2] != ":" or clock[5] != ":":
            raise ValueError(f"bad UTCTimestamp {text!r}")
        hours, minutes, seconds = clock[:2], clock[3:5], clock[6:8]
        fraction = text[18:] if len(text) > 17 and text[17] == "." else ""
        if len(text) > 17 and text[17] != ".":
            raise ValueError(f"bad UTCTimestamp {text!r}")
    elif len(text) >= 14 and text.isdigit():
        date, hours, minutes, seconds = text[:8], text[8:10], text[10:12], text[12:14]
        fraction = text[14:]
    elif len(text) == 8 and text.isdigit():
        day = _day_seconds(int(text[:4]), int(text[4:6]), int(text[6:8]))
        return _in_range(day * _NS_PER_SECOND, text)
    else:
        raise ValueError(f"bad FIX time {text!r}")
    if not (date.isdigit() and hours.isdigit() and minutes.isdigit() and seconds.isdigit()):
        raise ValueError(f"bad FIX time {text!r}")
    h, m, s = int(hours), int(minutes), int(seconds)
    if h > 23 or m > 59 or s > 60:  # 60: a leap second is legal in UTCTimestamp
        raise ValueError(f"bad FIX time {text!r}")
    day = _day_seconds(int(date[:4]), int(date[4:6]), int(date[6:8]))
    return _in_range((day + h * 3600 + m * 60 + s) * _NS_PER_SECOND + _fraction_ns(fraction), text)


def parse_fix_date(text: str) -> int:
    """Nanoseconds since the epoch of midnight UTC of ``YYYYMMDD`` (8 ASCII digits)."""
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        raise ValueError(f"bad FIX date {text!r}")
    return _in_range(
        _day_seconds(int(text[:4]), int(text[4:6]), int(text[6:8])) * _NS_PER_SECOND, text
    )


def parse_time_of_day(text: str) -> int:
    """Nanoseconds after midnight of a time of day (table above); ValueError otherwise."""
    if ":" in text:
        if len(text) < 8 or text[2] != ":" or text[5] != ":":
            raise ValueError(f"bad UTCTimeOnly {text!r}")
        hours, minutes, seconds = text[:2], text[3:5], text[6:8]
        if len(text) > 8 and text[8] != ".":
            raise ValueError(f"bad UTCTimeOnly {text!r}")
        fraction = text[9:]
        if not (hours + minutes + seconds).isascii():
            raise ValueError(f"bad UTCTimeOnly {text!r}")
    else:
        form = _COMPACT_TIME.get(len(text))
        if form is None or not (text.isascii() and text.isdigit()):
            raise ValueError(f"bad time of day {text!r} (digits-only forms: HHMMSS[fff…])")
        digits = form[0] + text
        hours, minutes, seconds, fraction = digits[:2], digits[2:4], digits[4:6], digits[6:]
    if not (hours.isdigit() and minutes.isdigit() and seconds.isdigit()):
        raise ValueError(f"bad time of day {text!r}")
    h, m, s = int(hours), int(minutes), int(seconds)
    if h > 23 or m > 59 or s > 60:  # 60: a leap second
        raise ValueError(f"bad time of day {text!r}")
    return (h * 3600 + m * 60 + s) * _NS_PER_SECOND + _fraction_ns(fraction)


def parse_entry_time(time_text: str, date_text: str | None, sending: str = "") -> int:
    """MDEntryTime (273) on MDEntryDate (272) or, without one, SendingTime's date (``sending``).

    Raises :class:`FixTimeError` with the tag at fault: ``"272"`` for a bad MDEntryDate, else
    ``"273"`` (a bad time, or no date to put it on)."""
    if (len(time_text) >= 17 and time_text[8] == "-") or (
        len(time_text) >= 16 and time_text.isdigit()
    ):
        try:
            return parse_fix_time(time_text)  # a full timestamp: its own date
        except ValueError as exc:
            raise FixTimeError("273", str(exc)) from None
    try:
        of_day = parse_time_of_day(time_text)
    except ValueError as exc:
        raise FixTimeError("273", str(exc)) from None
    if date_text:
        try:
            day = parse_fix_date(date_text)
        except ValueError as exc:
            raise FixTimeError("272", str(exc)) from None
    else:
        try:
            day = parse_fix_date(sending[:8])
        except ValueError:
            raise FixTimeError(
                "273", f"MDEntryTime {time_text!r} without a date (no MDEntryDate, no SendingTime)"
            ) from None
    try:
        return _in_range(day + of_day, time_text)
    except ValueError as exc:
        raise FixTimeError("273", str(exc)) from None


def _in_range(ns: int, text: str) -> int:
    # int64 nanoseconds span 1677-09-21 to 2262-04-11: an event cannot carry other times.
    if -_INT64_MAX <= ns <= _INT64_MAX:
        return ns
    raise ValueError(f"FIX time {text!r} is beyond the int64 nanosecond range")


def format_utc_timestamp(ns: int, digits: int = 9) -> str:
    """``YYYYMMDD-HH:MM:SS.fff…`` with ``digits`` (0, 3, 6 or 9) fraction digits."""
    seconds, fraction = divmod(ns, _NS_PER_SECOND)
    tm = time.gmtime(seconds)
    text = (
        f"{tm.tm_year:04d}{tm.tm_mon:02d}{tm.tm_mday:02d}-"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )
    if digits:
        text += "." + f"{fraction:09d}"[:digits]
    return text
