"""Venue conventions of FIX feeds, as data: which tags name an instrument.

Keyed by SecurityExchange (207, a MIC). CME Globex's FIX (DataMine history files, iLink
definitions) puts the product code in Symbol (55, e.g. ``GE``) and the instrument in SecurityDesc
(107, e.g. ``GEM4``): naming events by 55 would merge every expiry of a product into one book.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_SYMBOL_TAGS", "SYMBOL_TAGS_BY_EXCHANGE"]

DEFAULT_SYMBOL_TAGS: Final = ("55", "48")

_CME_GLOBEX: Final = ("107", "55", "48")
SYMBOL_TAGS_BY_EXCHANGE: Final[dict[str, tuple[str, ...]]] = {
    mic: _CME_GLOBEX
    for mic in ("XCME", "XCBT", "XNYM", "XCEC", "XKBT", "XMGE", "GLBX", "CBTS", "CECS", "NYMS")
}
