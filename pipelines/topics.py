"""Topic names: ``md.<stream>.<symbol>.<kind>``, ``an.<stream>.<symbol>.<metric>``,
``alert.<stream>.<symbol>.<severity>``.

Tokens are percent-encoded so that a symbol may hold dots, slashes, spaces or wildcard characters
(``XBT/USD`` -> ``XBT%2FUSD``). Wildcards follow NATS: ``*`` matches one token, ``>`` the rest.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final
from urllib.parse import quote, unquote

from pipelines.events import (
    Alert,
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Metric,
    Order,
    Quote,
    Statistic,
    Status,
    Trade,
)

__all__ = ["decode_token", "encode_token", "event_topic", "matches", "md_topic", "split"]

# Characters kept verbatim in a token: everything else (".", "/", " ", "*", ">", "%") is encoded.
_SAFE: Final = "-_~:+=@!$&'(),;"

_MD_KIND: Final[dict[type, str]] = {
    Trade: "trade",
    Quote: "quote",
    BookDelta: "book",
    BookSnapshot: "book",
    Order: "book",
    Status: "status",
    Instrument: "instrument",
    Statistic: "statistic",
}


@lru_cache(maxsize=65536)
def encode_token(token: str) -> str:
    # quote() keeps "." (an unreserved URL character), but here it separates tokens.
    return quote(token, safe=_SAFE).replace(".", "%2E")


def decode_token(token: str) -> str:
    return unquote(token)


def md_topic(stream: str, symbol: str, kind: str) -> str:
    return f"md.{encode_token(stream)}.{encode_token(symbol)}.{kind}"


def event_topic(event: Event) -> str:
    """The topic an event is published on."""
    if isinstance(event, Metric):
        name = encode_token(event.name)
        return f"an.{encode_token(event.stream)}.{encode_token(event.symbol)}.{name}"
    if isinstance(event, Alert):
        return f"alert.{encode_token(event.stream)}.{encode_token(event.symbol)}.{event.severity}"
    return md_topic(event.stream, event.symbol, _MD_KIND[type(event)])


def split(topic: str) -> list[str]:
    return [decode_token(t) for t in topic.split(".")]


@lru_cache(maxsize=65536)
def matches(pattern: str, topic: str) -> bool:
    """NATS wildcard match of encoded ``topic`` against encoded ``pattern``."""
    pattern_tokens = pattern.split(".")
    topic_tokens = topic.split(".")
    for i, token in enumerate(pattern_tokens):
        if token == ">":
            return len(topic_tokens) > i
        if i >= len(topic_tokens) or (token != "*" and token != topic_tokens[i]):
            return False
    return len(pattern_tokens) == len(topic_tokens)
