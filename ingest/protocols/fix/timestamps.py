"""FIX time values ↔ integer nanoseconds since the Unix epoch (UTC).

Accepted forms (what venues actually send):
- UTCTimestamp ``YYYYMMDD-HH:MM:SS`` with optional ``.sss``, ``.ssssss`` or ``.sssssssss``;
- CME's compact form ``YYYYMMDDHHMMSSmmm`` (DataMine history files), also without ``mmm`` and with
  up to nine fraction digits;
- ``YYYYMMDD`` (UTCDateOnly / LocalMktDate) as midnight UTC;

within int64 nanoseconds (1677 to 2262): other times raise ValueError like malformed ones.
"""

from __future__ import annotations

import calendar
import functools
import time
from typing import Final

__all__ = ["format_utc_timestamp", "parse_fix_time"]

_NS_PER_SECOND: Final = 1_000_000_000
_INT64_MAX: Final = 2**63 - 1
_FRACTION_SCALE: Final[list[int]] = [10 ** (9 - n) for n in range(10)]


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
    """Nanoseconds since the epoch; raises ValueError for anything else."""
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
