"""Where events live on NATS JetStream: streams per data class, subjects, consumers, KV bucket.

Three streams, one per data class (``lane``):

- ``md`` (``TICKERPLANT_MD``, subjects ``*.md.>``): market data,
  ``s<k>.md.<stream>.<symbol>.<kind>``;
- ``ctl`` (``TICKERPLANT_CTL``, subjects ``*.pri.>``): the priority lane, alerts and status,
  ``s<k>.pri.alert.<stream>.<symbol>.<severity>`` and ``s<k>.pri.md.<stream>.<symbol>.status``;
  workers pull it in a loop of its own, so it never waits behind a market-data backlog;
- ``an`` (``TICKERPLANT_AN``, subjects ``*.an.>``): analytics, for readers; workers do not
  consume it.

Every subject is the event's topic (:mod:`pipelines.topics`) behind its shard token ``s<k>``
(priority events behind ``s<k>.pri``). nats-server 2.9 allows one filter subject per consumer and
wants it inside one subject of the stream, so each stream captures one pattern and the durable
consumer ``s<k>`` of a consumed stream filters ``s<k>.md.>`` or ``s<k>.pri.>``. A ``namespace``
keeps test runs and several plants on one server apart: it prefixes every subject
(``<ns>.s<k>...``) and names the streams ``TICKERPLANT_<NS>_MD``...; the default (empty)
namespace is the layout of ARCHITECTURE.md.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pipelines.events import Alert, Event, Metric, Status

__all__ = ["CONSUMED_LANES", "LANES", "Lane", "NatsLayout", "lane_of"]

Lane = Literal["md", "ctl", "an"]
LANES: Final[tuple[Lane, ...]] = ("md", "ctl", "an")
CONSUMED_LANES: Final[tuple[Lane, ...]] = ("ctl", "md")  # priority lane first
_LANE_ROOT: Final[dict[str, str]] = {"md": "md", "ctl": "pri", "an": "an"}
_TOKEN: Final[dict[str, str]] = {"md": "", "ctl": "pri.", "an": ""}
_NAMESPACE: Final = re.compile(r"^[A-Za-z0-9_-]{0,32}$")


def lane_of(event: Event) -> Lane:
    kind = type(event)
    if kind is Alert or kind is Status:
        return "ctl"
    if kind is Metric:
        return "an"
    return "md"


class NatsLayout:
    """Names of the streams, subjects, consumers and KV bucket of one plant (``namespace``)."""

    def __init__(self, namespace: str = "") -> None:
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"bad NATS namespace {namespace!r}: [A-Za-z0-9_-], at most 32")
        self.namespace = namespace
        self._subject_root = f"{namespace}." if namespace else ""
        base = f"TICKERPLANT_{namespace.upper()}" if namespace else "TICKERPLANT"
        self._base = base
        self.kv_bucket = f"{base}_SHARDS"

    def stream(self, lane: Lane) -> str:
        return f"{self._base}_{lane.upper()}"

    def shard_prefix(self, shard: int) -> str:
        """``s<k>.`` (behind the namespace): the prefix of every subject of shard ``k``."""
        return f"{self._subject_root}s{shard}."

    def subject(self, shard: int, topic: str, lane: Lane = "md") -> str:
        return f"{self._subject_root}s{shard}.{_TOKEN[lane]}{topic}"

    def stream_subjects(self, lane: Lane) -> list[str]:
        """The wildcard subject a lane's stream captures (disjoint between lanes)."""
        return [f"{self._subject_root}*.{_LANE_ROOT[lane]}.>"]

    @staticmethod
    def consumer(shard: int) -> str:
        """The durable consumer of shard ``k`` (same name in every consumed stream)."""
        return f"s{shard}"

    def filter_subject(self, lane: Lane, shard: int) -> str:
        return f"{self.shard_prefix(shard)}{_LANE_ROOT[lane]}.>"

    @staticmethod
    def lane_token(lane: Lane) -> str:
        """What stands between ``s<k>.`` and the topic: ``pri.`` on the priority lane."""
        return _TOKEN[lane]

    @staticmethod
    def lease_key(shard: int) -> str:
        return f"s{shard}"
