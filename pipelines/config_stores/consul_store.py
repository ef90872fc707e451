"""``kind="consul"``: the spec as JSON at one Consul KV key (py-consul).

- ``put`` is a check-and-set on the key's ModifyIndex (``?cas=``; ``cas=0`` creates only when
  absent), after checking that the stored spec's ``version`` is the expected one. A CAS that loses
  a race re-reads and reports the winner's version as a :class:`VersionConflict`.
- ``watch`` uses Consul's blocking queries on the modify index (``?index=N&wait=...``): the request
  returns as soon as the key changes, so a new spec reaches workers without polling. Following
  Consul's guidance, an index that goes backwards (a snapshot restore) resets the wait to 0, and
  errors back off before retrying.

The ACL token comes from ``token`` or Consul's own ``CONSUL_HTTP_TOKEN`` environment variable.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar, Literal

import consul
import consul.aio
import msgspec
from msgspec import Meta

from pipelines.config_stores.base import ConfigStore, VersionConflict, decode_stored, prepare_put
from pipelines.registry import CONFIG_STORES
from pipelines.spec import PipelineSpec, SpecError

__all__ = ["ConsulStore", "ConsulStoreParams"]

log = logging.getLogger(__name__)

_RETRY_SECONDS = 1.0


class ConsulStoreParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8500
    scheme: Literal["http", "https"] = "http"
    key: Annotated[str, Meta(min_length=1, max_length=512, pattern=r"^[^/].*")] = "tickerplant/spec"
    token: str = ""
    """ACL token; empty: ``CONSUL_HTTP_TOKEN`` from the environment, if set."""
    dc: str = ""
    wait: Annotated[str, Meta(pattern=r"^\d+(ms|s|m)$")] = "30s"
    """How long one blocking query may wait for a change."""

    def __repr__(self) -> str:  # the token is a secret: never in logs
        token = "***" if self.resolved_token() else ""
        return (
            f"ConsulStoreParams(host={self.host!r}, port={self.port}, scheme={self.scheme!r}, "
            f"key={self.key!r}, token={token!r}, dc={self.dc!r}, wait={self.wait!r})"
        )

    def resolved_token(self) -> str | None:
        return self.token or os.environ.get("CONSUL_HTTP_TOKEN") or None


@CONFIG_STORES.register
class ConsulStore(ConfigStore[ConsulStoreParams]):
    kind: ClassVar[str] = "consul"
    Params: ClassVar[type[msgspec.Struct]] = ConsulStoreParams

    def __init__(self, params: ConsulStoreParams) -> None:
        super().__init__(params)
        self.key = params.key
        self._client = consul.Consul(**self._client_args())

    def _client_args(self) -> dict[str, Any]:
        p = self.params
        return {
            "host": p.host,
            "port": p.port,
            "scheme": p.scheme,
            "token": p.resolved_token(),
            "dc": p.dc or None,
        }

    def _read(self) -> tuple[PipelineSpec | None, int]:
        """The stored spec and the key's ModifyIndex (0 when absent)."""
        _index, entry = self._client.kv.get(self.key)
        if entry is None or entry.get("Value") is None:
            return None, 0
        return decode_stored(entry["Value"]), int(entry["ModifyIndex"])

    def get(self) -> PipelineSpec | None:
        return self._read()[0]

    def put(self, spec: PipelineSpec, expected_version: int) -> PipelineSpec:
        stored, data = prepare_put(spec, expected_version)
        current, modify_index = self._read()
        current_version = current.version if current is not None else 0
        if current_version != expected_version:
            raise VersionConflict(expected_version, current_version)
        if not self._client.kv.put(self.key, data, cas=modify_index):
            winner = self.get()
            raise VersionConflict(expected_version, winner.version if winner else 0)
        return stored

    async def watch(self) -> AsyncIterator[PipelineSpec]:
        seen = -1
        index = 0
        while True:
            client = consul.aio.Consul(**self._client_args())
            try:
                while True:
                    new_index, entry = await client.kv.get(
                        self.key, index=index or None, wait=self.params.wait
                    )
                    new_index = int(new_index)
                    # An index that went backwards means the store was restored: start over.
                    index = new_index if new_index >= index else 0
                    if entry is None or entry.get("Value") is None:
                        continue
                    try:
                        spec = decode_stored(entry["Value"])
                    except SpecError as exc:
                        log.warning("consul key %s: %s", self.key, exc)
                        continue
                    if spec.version > seen:
                        seen = spec.version
                        yield spec
            except (TimeoutError, consul.ConsulException, OSError) as exc:
                log.warning("config watch on consul key %s: %s; retrying", self.key, exc)
                await asyncio.sleep(_RETRY_SECONDS)
            except Exception as exc:  # aiohttp's client errors, a malformed answer
                log.warning("config watch on consul key %s: %r; retrying", self.key, exc)
                await asyncio.sleep(_RETRY_SECONDS)
            finally:
                await client.close()

    def close(self) -> None:
        self._client.http.close()
