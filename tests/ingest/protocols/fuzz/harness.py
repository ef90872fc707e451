"""The fuzz property, checked per mutant (see ``mutants.py`` for the mutants):

1. every record is either decoded (a list of events) or rejected with a ``DecodeError`` (the
   feed handler counts it and dead-letters the bytes); anything else raised is an escape;
2. every integer an event carries fits the int64 range that books, the log and the wire hold;
3. the events go through the replay's book view (``--emit books``) without an exception;
4. where the compiled twins are built, the compiled decoder and book give exactly what the
   pure-Python reference gives: the same events (values and types), the same errors (reason and
   detail), record by record, and the same books.

An escape is reported with the mutant's seed and mutations: ``mutants(name, ...)`` rebuilds it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import msgspec

from ingest.protocols.base import DecodeError
from pipelines import accel
from pipelines.events import Event
from pipelines.replay import emit as compiled_emit
from tests.ingest.protocols.fuzz.mutants import Mutant, Record

__all__ = ["Escape", "FuzzReport", "Side", "check_mutants", "encoded", "out_of_range"]

INT64 = 2**63 - 1
Factory = Callable[[], Any]


_ENCODE = msgspec.json.Encoder().encode
# An integer of 19 digits or more between the delimiters of a JSON array (events encode as
# arrays): the only ints that can be past int64. Digits inside strings are quoted, not matched.
_BIG = re.compile(rb"(?<=[\[,])-?\d{19,}(?=[\],])")


def encoded(events: list[Event]) -> bytes:
    """The events as JSON: every field in order with its kind's tag, and 1, 1.0, true and "1"
    all spelled differently, so equal bytes mean the same events of the same types."""
    return _ENCODE(events)


def out_of_range(blob: bytes) -> str | None:
    """The first integer of encoded events outside [-(2**63 - 1), 2**63 - 1], else None."""
    for match in _BIG.finditer(blob):
        if not -INT64 <= int(match.group()) <= INT64:
            return match.group()[:60].decode()
    return None


@dataclass(frozen=True)
class Escape:
    seed: str
    where: str
    what: str
    mutations: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.seed}: {self.where}: {self.what}  [{'; '.join(self.mutations)}]"


@dataclass
class FuzzReport:
    name: str
    mutants: int = 0
    records: int = 0
    decoded: int = 0
    rejected: int = 0
    events: int = 0
    compared: bool = False
    escapes: list[Escape] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.name}: {self.mutants} mutants, {self.records} records "
            f"({self.decoded} decoded, {self.rejected} rejected), {self.events} events, "
            f"compiled vs pure {'compared' if self.compared else 'not compared'}, "
            f"{len(self.escapes)} escapes"
        )


class Side:
    """One implementation: a decoder and the replay's book view over its events."""

    def __init__(self, decoder: Any, emit: ModuleType) -> None:
        self.decoder = decoder
        self.out = io.BytesIO()
        self.output = emit.Output(self.out)
        self.books = emit.BooksEmitter(self.output, 5)

    def feed(self, record: Record) -> tuple[tuple[object, ...], list[Event]]:
        """The record's outcome; anything but a DecodeError propagates."""
        try:
            if record.url:
                events = self.decoder.apply_snapshot(record.url, record.payload, record.ts_recv)
            else:
                events = self.decoder.decode(record.payload, record.ts_recv)
        except DecodeError as exc:
            return ("error", exc.reason, exc.detail), []
        # Rows rejected while the message's other rows went through (mapped ``rows``).
        rows = tuple((e.reason, e.detail) for e in getattr(self.decoder, "row_errors", ()))
        return ("events", len(events), encoded(events), rows), events

    def book_lines(self) -> bytes:
        self.output.flush()
        return self.out.getvalue()


def _reference_emit() -> ModuleType:
    return accel.reference("pipelines.replay.emit")


def check_mutants(
    name: str,
    batch: list[Mutant],
    compiled: Factory | None,
    reference: Factory,
) -> FuzzReport:
    """Runs every mutant through ``reference()`` decoders (and ``compiled()`` ones beside them
    when given: the agreement check) and collects the escapes."""
    report = FuzzReport(name, compared=compiled is not None)
    for mutant in batch:
        report.mutants += 1
        _one(mutant, compiled, reference, report)
    return report


def _one(mutant: Mutant, compiled: Factory | None, reference: Factory, report: FuzzReport) -> None:
    sides = [Side(reference(), _reference_emit())]
    if compiled is not None:
        sides.append(Side(compiled(), compiled_emit))

    def escape(where: str, what: str) -> None:
        report.escapes.append(Escape(mutant.seed, where, what, tuple(mutant.mutations)))

    for index, record in enumerate(mutant.records):
        report.records += 1
        outcomes = []
        for side in sides:
            label = "compiled" if side is not sides[0] else "reference"
            try:
                result, events = side.feed(record)
            except Exception as exc:  # the escape this suite exists to find
                escape(f"record {index} {label} decoder", f"{type(exc).__name__}: {exc}"[:300])
                return
            if result[0] == "events":
                big = out_of_range(result[2])  # type: ignore[arg-type]
                if big is not None:
                    escape(f"record {index} {label}", f"event with {big} (beyond int64)")
                    return
            try:
                side.books(events)
            except Exception as exc:
                escape(f"record {index} {label} books", f"{type(exc).__name__}: {exc}"[:300])
                return
            outcomes.append(result)
        first = outcomes[0]
        if any(other != first for other in outcomes[1:]):
            escape(f"record {index}", f"compiled {outcomes[1]!r:.300} != reference {first!r:.300}")
            return
        if first[0] == "error":
            report.rejected += 1
            reason = str(first[1])
            report.reasons[reason] = report.reasons.get(reason, 0) + 1
        else:
            report.decoded += 1
            report.events += first[1]  # type: ignore[operator]
    lines = [side.book_lines() for side in sides]
    if any(other != lines[0] for other in lines[1:]):
        escape("books", "the compiled book view differs from the reference's")
