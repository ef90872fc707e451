"""The ``csv`` protocol plugin: CSV/TSV files, one event per row, through a mapping.

A row becomes a frame for the mapping engine: a dict by column name (header line, or the
mapping's ``csv.columns``), else a list (paths ``[0]``, ``[-1]``). The framed unit is one line;
the first line is the header when ``csv.header = true``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event
from pipelines.registry import PROTOCOLS

from .plugin import MappedDecoder, MappedParams
from .schema import Mapping

__all__ = ["MappedCsvDecoder"]


@PROTOCOLS.register
class MappedCsvDecoder(MappedDecoder):
    """CSV/TSV lines (bytes) -> events, by a mapping whose ``csv`` table gives the format."""

    kind: ClassVar[str] = "csv"
    int_text: ClassVar[bool] = True

    def __init__(
        self,
        stream: str,
        params: MappedParams | Mapping,
        sequencer: Sequencer | None = None,
    ) -> None:
        super().__init__(stream, params, sequencer)
        mapping = self.engine.mapping
        self._format = mapping.csv
        self._columns: list[str] | None = list(mapping.csv.columns) or None
        self._expect_header = mapping.csv.header

    def _row(self, data: bytes) -> list[str] | None:
        try:
            text = data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise DecodeError("bad_text", str(exc)) from None
        if not text.strip() or (self._format.comment and text.startswith(self._format.comment)):
            return None
        try:
            return next(csv.reader([text], delimiter=self._format.delimiter, strict=True))
        except csv.Error as exc:
            raise DecodeError("bad_csv", str(exc)) from None

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        row = self._row(data)
        if row is None:
            return []
        if self._expect_header:
            self._expect_header = False
            self._columns = [name.strip() for name in row]
            return []
        columns = self._columns
        if columns is None:
            return self.engine.process(row, ts_recv)
        if len(row) != len(columns):
            raise DecodeError("bad_csv", f"{len(row)} fields, header has {len(columns)}")
        return self.engine.process(dict(zip(columns, row, strict=True)), ts_recv)

    def decode_lines(self, lines: Iterable[bytes], ts_recv: int = 0) -> Iterator[Event]:
        """Every event of ``lines``; rows that fail raise DecodeError (callers count them)."""
        for line in lines:
            yield from self.decode(line, ts_recv)

    def decode_file(self, path: str | Path) -> Iterator[Event]:
        with open(path, "rb") as handle:
            yield from self.decode_lines(handle)
