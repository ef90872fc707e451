"""The ConfigStore contract: get, compare-and-set put, and an async watch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import ClassVar, Generic, TypeVar

import msgspec

from pipelines.spec import PipelineSpec, SpecError, validate

__all__ = ["ConfigStore", "VersionConflict", "decode_stored", "prepare_put"]


class VersionConflict(RuntimeError):
    """``put`` lost a compare-and-set: the stored version is not the expected one."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected stored version {expected}, found {actual}")


P = TypeVar("P", bound=msgspec.Struct)


class ConfigStore(ABC, Generic[P]):
    """Generic in its params: ``class FileStore(ConfigStore[FileParams])`` gets ``self.params``
    typed ``FileParams``. ``Params`` names the same struct at run time (a ClassVar cannot hold a
    type variable); ``Registry.register`` refuses a plugin whose two disagree."""

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, params: P) -> None:
        self.params = params

    @abstractmethod
    def get(self) -> PipelineSpec | None:
        """The stored spec, or None when nothing was stored yet."""

    @abstractmethod
    def put(self, spec: PipelineSpec, expected_version: int) -> PipelineSpec:
        """Store ``spec`` as version ``expected_version + 1`` if the stored version is
        ``expected_version`` (0 when empty); returns what was stored, else VersionConflict."""

    @abstractmethod
    def watch(self) -> AsyncIterator[PipelineSpec]:
        """Yield the current spec (once there is one), then every newer version."""

    def close(self) -> None:
        """Release connections; the default has none."""


def prepare_put(spec: PipelineSpec, expected_version: int) -> tuple[PipelineSpec, bytes]:
    """Validate and stamp the next version; the JSON is what every backend stores."""
    from pipelines.spec import encode_spec

    validate(spec)
    stored = msgspec.structs.replace(spec, version=expected_version + 1)
    return stored, encode_spec(stored)


def decode_stored(data: bytes | str) -> PipelineSpec:
    """Structural decode only: plugin validation is the applier's job, so that a worker can log
    and reject a bad spec rather than the store raising inside a watch loop."""
    try:
        return msgspec.json.decode(data, type=PipelineSpec)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SpecError("", f"stored spec is unreadable: {exc}") from None
