"""Publish the compiled catalog to the config store with compare-and-set."""

from __future__ import annotations

import logging

import msgspec
from django.conf import settings

from controlplane.catalog.compile import compile_spec
from controlplane.catalog.models import PublishedSpec
from pipelines.config_stores import VersionConflict, open_store
from pipelines.spec import PipelineSpec, encode_spec, validate

__all__ = ["PublishError", "publish_catalog"]

log = logging.getLogger(__name__)
_ATTEMPTS = 10


class PublishError(RuntimeError):
    pass


def _same_content(a: PipelineSpec, b: PipelineSpec) -> bool:
    return encode_spec(msgspec.structs.replace(a, version=0)) == encode_spec(
        msgspec.structs.replace(b, version=0)
    )


def publish_catalog(
    actor: str, *, workers: int | None = None, store_url: str | None = None
) -> PublishedSpec | None:
    """Compile, validate and put the spec; returns the new PublishedSpec, or None if unchanged.

    A concurrent writer makes ``put`` raise VersionConflict: re-read and retry.
    """
    spec = validate(compile_spec(workers or settings.TICKERPLANT_WORKERS))
    store = open_store(store_url or settings.TICKERPLANT_CONFIG_STORE)
    for _ in range(_ATTEMPTS):
        current = store.get()
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
