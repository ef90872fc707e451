"""Deterministic mutants of captured records for the fuzz tests.

A mutant is a window of a capture's records with one to four mutations, chosen by a
``random.Random`` seeded from the protocol's name and the mutant's index, so a failing mutant is
reproduced by its seed alone. Mutations:

- bytes: a bit flip, a byte inserted or deleted, truncation;
- numbers: a number of the text (JSON, FIX, CSV: digits with an optional fraction and exponent)
  replaced by a huge, negative, exponent, NaN or otherwise hostile spelling; in binary records
  (SBE) 1, 2, 4 or 8 bytes overwritten with the extremes of those integer widths;
- frames: a record duplicated, two neighbours swapped, a record dropped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple

__all__ = ["HOSTILE_NUMBERS", "Mutant", "Record", "fix_trailer", "mutants"]


class Record(NamedTuple):
    """One input of a decoder: a message (``url`` empty) or a REST snapshot response."""

    ts_recv: int
    payload: bytes
    url: str = ""


class Mutant(NamedTuple):
    seed: str
    records: list[Record]
    mutations: list[str]


HOSTILE_NUMBERS: Final[tuple[bytes, ...]] = (
    b"1e400",
    b"-1e400",
    b"1E+308",
    b"1e-400",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999999999999999999",
    b"0.000000000000000000000000000000000000001",
    b"1." + b"0" * 40,
    b"1" + b"0" * 400,
    b"7" * 5000,  # past Python's 4,300-digit limit of int(str)
    b"-1",
    b"-0",
    b"0",
    b"-0.5",
    b"NaN",
    b"nan",
    b"Infinity",
    b"-Infinity",
    b"inf",
    b"0x1F",
    b"1_000",
    b"+1",
    b" 1",
    b"1e9999999999",
    b"\xd9\xa3",  # ARABIC-INDIC DIGIT THREE: str.isdigit() says yes, int() agrees
    b"\xc2\xb2",  # SUPERSCRIPT TWO: isdigit() yes, isdecimal() and int() no
)

_NUMBER: Final = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
# Little-endian extremes of 1/2/4/8-byte integers: min, max, -1/all ones, zero.
_BINARY: Final[tuple[bytes, ...]] = tuple(
    pattern
    for width in (1, 2, 4, 8)
    for pattern in (
        b"\x00" * (width - 1) + b"\x80",
        b"\xff" * (width - 1) + b"\x7f",
        b"\xff" * width,
        b"\x00" * width,
    )
)


def _bit_flip(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "bit flip (empty)"
    i = rng.randrange(len(data))
    bit = rng.randrange(8)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :], f"bit {bit} of byte {i}"


def _insert(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    byte = rng.choice([0, 0x22, 0x2C, 0x5B, 0x7B, 0x7D, 0x01, 0x3D, 0xFF, rng.randrange(256)])
    return data[:i] + bytes([byte]) + data[i:], f"insert {byte:#x} at {i}"


def _delete(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "delete (empty)"
    i = rng.randrange(len(data))
    return data[:i] + data[i + 1 :], f"delete byte {i}"


def _truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncate at {cut}"


def _number(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    found = list(_NUMBER.finditer(data))
    if not found:
        return _bit_flip(rng, data)
    match = rng.choice(found)
    form = rng.choice(HOSTILE_NUMBERS)
    return (
        data[: match.start()] + form + data[match.end() :],
        f"number {match.group()[:24]!r} at {match.start()} -> {form[:24]!r}",
    )


def _binary_number(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    pattern = rng.choice(_BINARY)
    if len(data) < len(pattern):
        return _bit_flip(rng, data)
    i = rng.randrange(len(data) - len(pattern) + 1)
    return data[:i] + pattern + data[i + len(pattern) :], f"bytes {i}.. -> {pattern.hex()}"


Edit = Callable[[random.Random, bytes], tuple[bytes, str]]
TEXT_EDITS: Final[tuple[Edit, ...]] = (
    _bit_flip,
    _insert,
    _delete,
    _truncate,
    _number,
    _number,
    _number,
)
BINARY_EDITS: Final[tuple[Edit, ...]] = (
    _bit_flip,
    _insert,
    _delete,
    _truncate,
    _binary_number,
    _binary_number,
    _binary_number,
)


def fix_trailer(message: bytes) -> bytes:
    """A FIX message with BodyLength (9) and CheckSum (10) recomputed, so a mutated body gets past
    the framing checks to the normalizer; unchanged when it has no ``9=`` or ``10=`` to fix."""
    head = message.find(b"\x019=")
    body_start = message.find(b"\x01", head + 1) + 1 if head >= 0 else -1
    trailer = message.rfind(b"\x0110=")
    if head < 0 or body_start <= 0 or trailer < body_start:
        return message
    body = message[body_start : trailer + 1]
    fixed = message[: head + 3] + str(len(body)).encode() + b"\x01" + body
    return fixed + b"10=%03d\x01" % (sum(fixed) % 256)


def mutants(
    name: str,
    records: Sequence[Record],
    count: int,
    *,
    window: int,
    binary: bool = False,
    repair: Callable[[bytes], bytes] | None = None,
    anchor: float = 0.5,
    prefix: int = 0,
) -> list[Mutant]:
    """``count`` mutants of ``records``: the first ``prefix`` records (subscriptions, in-stream
    snapshots), then a window of ``window`` records (from where the prefix ends with probability
    ``anchor``: snapshots and definitions are usually there), one to four mutations anywhere.
    ``repair`` (e.g. :func:`fix_trailer`) is applied to half of the mutated payloads."""
    edits = BINARY_EDITS if binary else TEXT_EDITS
    made: list[Mutant] = []
    head, rest = list(records[:prefix]), records[prefix:]
    for index in range(count):
        seed = f"{name}:{index}"
        rng = random.Random(seed)
        size = min(window, len(rest))
        start = 0 if rng.random() < anchor else rng.randrange(len(rest) - size + 1)
        chosen = head + list(rest[start : start + size])
        notes = [f"records 0..{prefix - 1} and {prefix + start}..{prefix + start + size - 1}"]
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            at = rng.randrange(len(chosen))
            if roll < 0.08:
                chosen.insert(at, chosen[at])
                notes.append(f"duplicate record {at}")
            elif roll < 0.16 and len(chosen) > 1:
                other = min(at + 1, len(chosen) - 1)
                chosen[at], chosen[other] = chosen[other], chosen[at]
                notes.append(f"swap records {at} and {other}")
            elif roll < 0.2 and len(chosen) > 1:
                del chosen[at]
                notes.append(f"drop record {at}")
            else:
                record = chosen[at]
                payload, note = rng.choice(edits)(rng, record.payload)
                if repair is not None and rng.random() < 0.5:
                    payload = repair(payload)
                    note += " (trailer repaired)"
                chosen[at] = record._replace(payload=payload)
                notes.append(f"record {at}: {note}")
        made.append(Mutant(seed, chosen, notes))
    return made
