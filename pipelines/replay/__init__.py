"""Replay of recorded captures: ``python -m pipelines replay`` and the ``replay`` source.

- :mod:`ingest.capture.replay_input`: format detection, records, decoder building, feeding (shared
  with ``ingest/sources/replay.py``);
- :mod:`pipelines.replay.emit`: the ``events``, ``books`` and ``stats`` outputs;
- :mod:`pipelines.replay.cli`: the command.

Usage, detection rules and output shapes: docs/replay.md.
"""

from ingest.capture.replay_input import (
    CaptureFile,
    Record,
    ReplayError,
    ReplayFeed,
    ReplayOptions,
    build_decoder,
    derive_stream,
    detect_format,
)

__all__ = [
    "CaptureFile",
    "Record",
    "ReplayError",
    "ReplayFeed",
    "ReplayOptions",
    "build_decoder",
    "derive_stream",
    "detect_format",
]
