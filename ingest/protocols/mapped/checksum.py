"""Book checksums over the top N levels, in the venue's string format.

``digits`` is Kraken's format: each price and size string with the '.' removed and leading zeros
stripped. For a feed that prints a fixed number of decimals that is exactly the decimal digits of
the integer at the feed's scale, so ``str(price)`` reproduces it without keeping the strings
(the instrument's decimals must be the feed's: ``auto``, or set to the venue's precision).
``decimal`` formats the integers back to decimal strings (venues that checksum "1.50:2.0").
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from pipelines.events import format_scaled

from .levels import BookView
from .schema import Checksum

__all__ = ["ChecksumFunction", "compile_checksum"]

ChecksumFunction = Callable[[BookView, int, int], int]


def compile_checksum(spec: Checksum) -> ChecksumFunction:
    """``f(book, price_decimals, size_decimals) -> int``: the value the venue would send."""
    depth, separator, order, signed = spec.depth, spec.separator, spec.order, spec.signed

    if spec.format == "digits":

        def level_text(price: int, size: int, pd: int, sd: int) -> str:
            return f"{price}{separator}{size}"
    else:

        def level_text(price: int, size: int, pd: int, sd: int) -> str:
            return f"{format_scaled(price, pd)}{separator}{format_scaled(size, sd)}"

    def checksum(book: BookView, pd: int, sd: int) -> int:
        asks = [level_text(p, s, pd, sd) for p, s in book.asks.top(depth)]
        bids = [level_text(p, s, pd, sd) for p, s in book.bids.top(depth)]
        if order == "asks_then_bids":
            parts = asks + bids
        elif order == "bids_then_asks":
            parts = bids + asks
        else:
            parts = []
            for index in range(max(len(asks), len(bids))):
                if index < len(bids):
                    parts.append(bids[index])
                if index < len(asks):
                    parts.append(asks[index])
        value = zlib.crc32(separator.join(parts).encode("ascii"))
        if signed and value >= 1 << 31:
            value -= 1 << 32
        return value

    return checksum
