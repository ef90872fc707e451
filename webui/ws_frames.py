"""Limits a client's WebSocket frame must meet before it is parsed: size, then nesting depth.

``json.loads`` recurses once per nesting level, so a frame of 100,000 ``[`` raises
``RecursionError`` inside the parser; the depth is therefore measured on the text first, in
time linear in its size (string contents and escapes are removed, then matched bracket pairs,
one level per round, at most ``max_depth`` rounds). Mismatched bracket kinds are left to the
parser, which reports them as bad JSON once the depth is known to be safe.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = ["CLOSE_SLOW", "CLOSE_TOO_DEEP", "CLOSE_TOO_LARGE", "FrameProblem", "frame_problem"]

_ESCAPE: Final = re.compile(r"\\.", re.DOTALL)
_STRING: Final = re.compile(r'"[^"]*"')
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_AS_PARENS: Final = str.maketrans("[]{}", "()()")

# Close codes: daphne (autobahn) lets an application close only with 1000 or 3000-4999, so the
# RFC's 1008/1009 are out of reach; as with 4401 (not allowed), 4000 + the nearest HTTP status.
CLOSE_TOO_DEEP: Final = 4400
CLOSE_TOO_LARGE: Final = 4413
CLOSE_SLOW: Final = 4408


class FrameProblem(NamedTuple):
    code: str
    message: str
    close_code: int


def _deeper_than(text: str, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False
    if '"' in text:
        text = _STRING.sub("", _ESCAPE.sub("", text))
    parens = _NOT_BRACKET.sub("", text).translate(_AS_PARENS)
    for _ in range(limit):
        reduced = parens.replace("()", "")
        if reduced == parens:
            break
        parens = reduced
    # Left: pairs nested deeper than ``limit`` rounds could remove, or unmatched brackets; the
    # trailing openers of what is left each contain the next, so their number is a depth too.
    return "()" in parens or parens.count("(") > limit


def frame_problem(text: str, max_bytes: int, max_depth: int) -> FrameProblem | None:
    """Why ``text`` must not be parsed, or None when it may be."""
    size = len(text)
    if size * 4 > max_bytes and size <= max_bytes:  # UTF-8 takes up to 4 bytes a character
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return FrameProblem(
            "too_large", f"frames are limited to {max_bytes} bytes", CLOSE_TOO_LARGE
        )
    if _deeper_than(text, max_depth):
        return FrameProblem(
            "too_deep", f"frames may nest at most {max_depth} levels", CLOSE_TOO_DEEP
        )
    return None
