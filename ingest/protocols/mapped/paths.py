"""Compiled paths into decoded JSON values (or CSV rows).

Path syntax: dotted keys and bracketed indices, e.g. ``data.b``, ``[-2]``, ``data.levels[0].px``;
a bracketed slice ``[1:-2]`` selects a list of elements (used for "every object in this array").
The empty path (or ``.``) is the value itself. A path that starts with ``$`` (``$.arg.instId``,
``$[0]``, ``$``) is *anchored*: in a message's fields it is read from the message as routed (the
frame, or the ``each`` element) instead of from the message's root or row (:func:`anchored`). A
path is parsed once, when the mapping is
compiled, into a closure; lookups then cost a few dict/list subscripts and never raise: a missing
key, an index out of range or a value of the wrong type gives :data:`MISSING`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["MISSING", "Getter", "PathError", "anchored", "compile_path", "parse_path"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

Getter = Callable[[Any], Any]
Step = str | int | slice

_TOKEN = re.compile(r"\[(-?\d*):(-?\d*)\]|\[(-?\d+)\]|([^.\[\]]+)|(\.)")


class PathError(ValueError):
    """A path that does not parse; the message quotes it."""


def anchored(text: str) -> tuple[bool, str]:
    """``(True, rest)`` for a path anchored at the message (``$``, ``$.a.b``, ``$[0]``), whose
    ``rest`` is then a path from the message; ``(False, text)`` for any other path."""
    if text == "$":
        return True, ""
    if text.startswith("$."):
        return True, text[2:]
    if text.startswith("$["):
        return True, text[1:]
    return False, text


def parse_path(text: str) -> tuple[Step, ...]:
    """``"data.b[0]"`` -> ``("data", "b", 0)``; ``"[1:-2]"`` -> ``(slice(1, -2),)``.

    An anchored path (``$.data``) parses to the steps after the anchor; where it is read from
    is the caller's business (see :func:`anchored`)."""
    text = anchored(text)[1]
    if text in ("", "."):
        return ()
    steps: list[Step] = []
    pos = 0
    expect_key = True  # a key may follow the start, a dot or a bracket
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise PathError(f"bad path {text!r} at character {pos}")
        start, stop, index, key, dot = match.groups()
        if dot is not None:
            if expect_key:
                raise PathError(f"bad path {text!r}: empty key at character {pos}")
            expect_key = True
        elif key is not None:
            if not expect_key:
                raise PathError(f"bad path {text!r}: missing '.' before {key!r}")
            steps.append(key)
            expect_key = False
        elif index is not None:
            steps.append(int(index))
            expect_key = False
        else:
            steps.append(slice(int(start) if start else None, int(stop) if stop else None))
            expect_key = False
        pos = match.end()
    if expect_key and steps:
        raise PathError(f"bad path {text!r}: ends with '.'")
    return tuple(steps)


def _step(value: Any, step: Step) -> Any:
    # Type checks keep a key step from indexing a string and an index step from matching a
    # dict key that happens to be an int: a path means the same thing on every frame.
    if type(step) is str:
        if type(value) is dict:
            return value.get(step, MISSING)
        return MISSING
    if type(value) is list:
        if type(step) is int:
            try:
                return value[step]
            except IndexError:
                return MISSING
        return value[step]  # type: ignore[index]  # a slice: never raises
    return MISSING


def compile_path(text: str) -> Getter:
    """A getter for ``text``; specialised closures for the common one- and two-key paths.
    An anchored path's getter reads the path after the anchor from the value it is given."""
    steps = parse_path(text)
    if not steps:
        return _identity
    if all(type(s) is str for s in steps):
        if len(steps) == 1:
            key = steps[0]

            def get_key(value: Any) -> Any:
                return value.get(key, MISSING) if type(value) is dict else MISSING

            return get_key
        if len(steps) == 2:
            first, second = steps

            def get_key2(value: Any) -> Any:
                if type(value) is not dict:
                    return MISSING
                inner = value.get(first, MISSING)
                return inner.get(second, MISSING) if type(inner) is dict else MISSING

            return get_key2
    if len(steps) == 1 and type(steps[0]) is int:
        index = steps[0]

        def get_index(value: Any) -> Any:
            if type(value) is list:
                try:
                    return value[index]
                except IndexError:
                    return MISSING
            return MISSING

        return get_index

    def get_path(value: Any) -> Any:
        for step in steps:
            value = _step(value, step)
            if value is MISSING:
                return MISSING
        return value

    return get_path


def _identity(value: Any) -> Any:
    return value
