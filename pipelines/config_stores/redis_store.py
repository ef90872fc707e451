"""``kind="redis"``: the spec as JSON at one key, compare-and-set by a Lua script.

The script reads the stored version, and only when it equals the expected one writes the new spec
and publishes its version on ``<key>:changed``, all atomically. Watchers subscribe to that channel
and also re-read the key every ``poll_interval`` seconds, so a lost notification (a reconnect, a
write by another tool) delays a change but never hides it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, ClassVar, Final

import msgspec
import redis
import redis.asyncio as aioredis
from msgspec import Meta

from pipelines.config_stores.base import (
    ConfigStore,
    VersionConflict,
    decode_stored,
    prepare_put,
)
from pipelines.registry import CONFIG_STORES
from pipelines.spec import PipelineSpec, SpecError

__all__ = ["RedisStore", "RedisStoreParams"]

log = logging.getLogger(__name__)

# KEYS: spec key, channel. ARGV: expected version, spec JSON, new version.
# Returns -1 on success, else the stored version.
_CAS_SCRIPT: Final = """
local current = redis.call('GET', KEYS[1])
local version = 0
if current then version = tonumber(cjson.decode(current)['version']) or 0 end
if version ~= tonumber(ARGV[1]) then return version end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return -1
"""


class RedisStoreParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = "redis://localhost:6379/0"
    key: Annotated[str, Meta(min_length=1, max_length=200)] = "tickerplant:spec"
    poll_interval: Annotated[float, Meta(gt=0, le=60)] = 1.0
    """Seconds between re-reads in ``watch`` when no notification arrives."""


@CONFIG_STORES.register
class RedisStore(ConfigStore[RedisStoreParams]):
    kind: ClassVar[str] = "redis"
    Params: ClassVar[type[msgspec.Struct]] = RedisStoreParams

    def __init__(self, params: RedisStoreParams) -> None:
        super().__init__(params)
        self.key = params.key
        self.channel = f"{params.key}:changed"
        self._client = redis.Redis.from_url(params.url, socket_connect_timeout=2.0)
        self._cas = self._client.register_script(_CAS_SCRIPT)

    def get(self) -> PipelineSpec | None:
        data = self._client.get(self.key)
        return None if data is None else decode_stored(data)

    def put(self, spec: PipelineSpec, expected_version: int) -> PipelineSpec:
        stored, data = prepare_put(spec, expected_version)
        result = int(
            self._cas(keys=[self.key, self.channel], args=[expected_version, data, stored.version])
        )
        if result != -1:
            raise VersionConflict(expected_version, result)
        return stored

    async def watch(self) -> AsyncIterator[PipelineSpec]:
        seen = -1
        while True:
            client = aioredis.Redis.from_url(self.params.url, socket_connect_timeout=2.0)
            pubsub = client.pubsub()
            try:
                # Subscribe before reading, so a change between the two is not missed.
                await pubsub.subscribe(self.channel)
                while True:
                    data = await client.get(self.key)
                    if data is not None:
                        try:
                            spec = decode_stored(data)
                        except SpecError as exc:
                            log.warning("redis key %s: %s", self.key, exc)
                        else:
                            if spec.version > seen:
                                seen = spec.version
                                yield spec
                    await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self.params.poll_interval
                    )
            except (redis.RedisError, OSError) as exc:
                log.warning("config watch on %s: %s; retrying", self.key, exc)
                await asyncio.sleep(self.params.poll_interval)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()

    def close(self) -> None:
        self._client.close()
