"""Publish the compiled catalog to the config store with compare-and-set."""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec
from django.conf import settings

from controlplane.catalog.compile import compile_spec
from controlplane.catalog.models import PublishedSpec
from pipelines.config_stores import VersionConflict, open_store
from pipelines.spec import PipelineSpec, encode_spec, validate

__all__ = ["Placement", "PublishError", "publish_catalog"]

log = logging.getLogger(__name__)
_ATTEMPTS = 10

Placement = Callable[[int], dict[str, list[int]]]
"""Shard count -> the ``ShardMap.assignment`` to publish (``{}``: shard k on worker k % N)."""


class PublishError(RuntimeError):
    pass


def _same_content(a: PipelineSpec, b: PipelineSpec) -> bool:
    return encode_spec(msgspec.structs.replace(a, version=0)) == encode_spec(
        msgspec.structs.replace(b, version=0)
    )


def publish_catalog(
    actor: str,
    *,
    workers: int | None = None,
    store_url: str | None = None,
    placement: Placement | None = None,
) -> PublishedSpec | None:
    """Compile, validate and put the spec; returns the new PublishedSpec, or None if unchanged.

    The shard assignment comes from ``placement`` when given; otherwise the store's current one
    is kept (same shard count), so a catalog edit never undoes the supervisor's move of a dead
    worker's shards. A concurrent writer makes ``put`` raise VersionConflict: re-read the store
    and re-compile the catalog (its latest content wins), then retry.
    """
    count = workers or settings.TICKERPLANT_WORKERS
    store = open_store(store_url or settings.TICKERPLANT_CONFIG_STORE)
    for _ in range(_ATTEMPTS):
        current = store.get()
        spec = _placed(validate(compile_spec(count)), current, placement)
        if current is not None and _same_content(current, spec):
            return None
        expected = current.version if current is not None else 0
        try:
            stored = store.put(spec, expected)
        except VersionConflict:
            continue
        log.info("published spec v%s (by %s)", stored.version, actor)
        return PublishedSpec.objects.create(
            version=stored.version,
            document=msgspec.json.decode(encode_spec(stored)),
            created_by=actor,
        )
    raise PublishError(f"config store kept changing; gave up after {_ATTEMPTS} attempts")


def _placed(
    spec: PipelineSpec, current: PipelineSpec | None, placement: Placement | None
) -> PipelineSpec:
    shards = spec.shards
    if placement is not None:
        assignment = placement(shards.count)
    elif current is not None and current.shards.count == shards.count:
        assignment = current.shards.assignment
    else:
        assignment = {}
    return msgspec.structs.replace(
        spec, shards=msgspec.structs.replace(shards, assignment=assignment)
    )
