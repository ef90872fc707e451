"""A local double of Consul's KV HTTP API, for testing the Consul config store.

Consul itself cannot be installed on this machine, so the Consul backend is tested against this
double instead: it implements the part of Consul's documented KV API the store uses
(https://developer.hashicorp.com/consul/api-docs/kv and .../features/blocking), faithfully:

- ``GET /v1/kv/<key>``: ``200`` with a JSON array of one entry (``Key``, ``Value`` base64,
  ``Flags``, ``CreateIndex``, ``ModifyIndex``, ``LockIndex``), or ``404`` when the key is absent;
  both carry ``X-Consul-Index`` (the key's ModifyIndex, or the store's index when absent),
  ``X-Consul-KnownLeader`` and ``X-Consul-LastContact``.
- Blocking queries: ``?index=N&wait=<duration>`` returns at once when the index is already past
  ``N``, else waits until the key changes or ``wait`` (default 5m, capped 10m) elapses, then
  answers with the current state.
- ``PUT /v1/kv/<key>[?cas=N]``: the raw body becomes the value; answers ``true``/``false``;
  ``cas=0`` writes only when the key does not exist, ``cas=N`` only when ModifyIndex is ``N``.
- ``DELETE /v1/kv/<key>``; ACL: with a configured token, requests without the matching
  ``X-Consul-Token`` header (or ``?token=``) get ``403 ACL not found``.

It runs an aiohttp server on a thread, on a free port of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import threading
from typing import Any

from aiohttp import web

__all__ = ["ConsulDouble"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _seconds(duration: str) -> float:
    match = _DURATION.match(duration)
    if not match:
        raise web.HTTPBadRequest(text=f"Invalid wait time: {duration}")
    return min(float(match.group(1)) * _UNITS[match.group(2)], 600.0)


class ConsulDouble:
    def __init__(self, token: str = "") -> None:
        self.token = token
        self.index = 1  # Consul's raft index starts above zero
        self.entries: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ConsulDouble:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("GET", "/v1/kv/{key:.+}", self._get)
        app.router.add_route("PUT", "/v1/kv/{key:.+}", self._put)
        app.router.add_route("DELETE", "/v1/kv/{key:.+}", self._delete)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _check_acl(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path_qs))
        if not self.token:
            return
        given = request.headers.get("X-Consul-Token") or request.query.get("token", "")
        if given != self.token:
            raise web.HTTPForbidden(text="ACL not found")

    def _headers(self, index: int) -> dict[str, str]:
        return {
            "X-Consul-Index": str(index),
            "X-Consul-KnownLeader": "true",
            "X-Consul-LastContact": "0",
        }

    def _key_index(self, key: str) -> int:
        entry = self.entries.get(key)
        return entry["ModifyIndex"] if entry else self.index

    async def _get(self, request: web.Request) -> web.Response:
        self._check_acl(request)
        key = request.match_info["key"]
        if "index" in request.query:
            wanted = int(request.query["index"])
            timeout = _seconds(request.query.get("wait", "5m"))
            assert self._changed is not None
            async with self._changed:
                with contextlib.suppress(TimeoutError):  # wait elapsed: answer with what is
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self._key_index(key) > wanted), timeout
                    )
        entry = self.entries.get(key)
        if entry is None:
            return web.Response(status=404, headers=self._headers(self.index))
        body = [
            {
                **entry,
                "Value": base64.b64encode(entry["Value"]).decode() if entry["Value"] else None,
            }
        ]
        return web.json_response(body, headers=self._headers(entry["ModifyIndex"]))

    async def _put(self, request: web.Request) -> web.Response:
        self._check_acl(request)
        key = request.match_info["key"]
        value = await request.read()
        existing = self.entries.get(key)
        if "cas" in request.query:
            cas = int(request.query["cas"])
            current = existing["ModifyIndex"] if existing else 0
            if cas != current:
                return web.json_response(False, headers=self._headers(self.index))
        assert self._changed is not None
        async with self._changed:
            self.index += 1
            self.entries[key] = {
                "Key": key,
                "Flags": int(request.query.get("flags", 0)),
                "CreateIndex": existing["CreateIndex"] if existing else self.index,
                "ModifyIndex": self.index,
                "LockIndex": 0,
                "Value": value,
            }
            self._changed.notify_all()
        return web.json_response(True, headers=self._headers(self.index))

    async def _delete(self, request: web.Request) -> web.Response:
        self._check_acl(request)
        assert self._changed is not None
        async with self._changed:
            if self.entries.pop(request.match_info["key"], None) is not None:
                self.index += 1
                self._changed.notify_all()
        return web.json_response(True, headers=self._headers(self.index))

    def put_raw(self, key: str, value: bytes) -> None:
        """Write behind the store's back, as another tool (``consul kv put``) would."""

        async def write() -> None:
            assert self._changed is not None
            async with self._changed:
                self.index += 1
                existing = self.entries.get(key)
                self.entries[key] = {
                    "Key": key,
                    "Flags": 0,
                    "CreateIndex": existing["CreateIndex"] if existing else self.index,
                    "ModifyIndex": self.index,
                    "LockIndex": 0,
                    "Value": value,
                }
                self._changed.notify_all()

        asyncio.run_coroutine_threadsafe(write(), self._loop).result(10)
