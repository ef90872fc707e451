"""``kind="file"``: the spec as a JSON file, replaced atomically under an ``fcntl`` lock.

Writers lock a sidecar ``<path>.lock`` (the data file itself is replaced by ``os.replace``, so
a lock on it would be lost) and write a temp file that is fsynced, then renamed over the spec.
Watchers poll the file's identity (inode, size, mtime) cheaply and re-read only on change.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.config_stores.base import (
    ConfigStore,
    VersionConflict,
    decode_stored,
    prepare_put,
)
from pipelines.registry import CONFIG_STORES
from pipelines.spec import PipelineSpec, SpecError

__all__ = ["FileParams", "FileStore"]

log = logging.getLogger(__name__)


class FileParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    path: Annotated[str, Meta(min_length=1)]
    poll_interval: Annotated[float, Meta(gt=0, le=60)] = 0.1
    """Seconds between checks of the file in ``watch``."""


@CONFIG_STORES.register
class FileStore(ConfigStore[FileParams]):
    kind: ClassVar[str] = "file"
    Params: ClassVar[type[msgspec.Struct]] = FileParams

    def __init__(self, params: FileParams) -> None:
        super().__init__(params)
        self.path = os.path.abspath(params.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> PipelineSpec | None:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        return decode_stored(data)

    def get(self) -> PipelineSpec | None:
        return self._read()

    def put(self, spec: PipelineSpec, expected_version: int) -> PipelineSpec:
        stored, data = prepare_put(spec, expected_version)
        with self._locked():
            current = self._read()
            actual = current.version if current is not None else 0
            if actual != expected_version:
                raise VersionConflict(expected_version, actual)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".spec-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        return stored

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    async def watch(self) -> AsyncIterator[PipelineSpec]:
        seen_identity: tuple[int, int, int] | None = None
        seen_version = -1
        while True:
            identity = self._identity()
            if identity is not None and identity != seen_identity:
                seen_identity = identity
                try:
                    spec = await asyncio.to_thread(self._read)
                except SpecError as exc:
                    log.warning("config file %s: %s", self.path, exc)
                    spec = None
                if spec is not None and spec.version > seen_version:
                    seen_version = spec.version
                    yield spec
            await asyncio.sleep(self.params.poll_interval)
