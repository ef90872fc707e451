"""Request body parsers of the API: bounded in size and in nesting depth.

A body larger than ``TICKERPLANT_API_MAX_BODY_BYTES`` answers 413 without being read past the
limit; JSON nested deeper than ``TICKERPLANT_API_MAX_JSON_DEPTH`` answers 400 before it is
parsed (Python's parser would raise RecursionError, a 500, at about a thousand levels).
"""

from __future__ import annotations

import io
import json
import re
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

__all__ = ["LimitedFormParser", "LimitedJSONParser", "RequestTooLarge", "json_depth_exceeds"]

# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "request_too_large"


def json_depth_exceeds(data: bytes, limit: int) -> bool:
    """True when arrays and objects in ``data`` nest deeper than ``limit``."""
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _read_limited(stream: IO[bytes] | None) -> bytes:
    limit = settings.TICKERPLANT_API_MAX_BODY_BYTES
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise RequestTooLarge(f"Request body larger than {limit} bytes.")
    return data


class LimitedJSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        data = _read_limited(stream)
        depth = settings.TICKERPLANT_API_MAX_JSON_DEPTH
        if json_depth_exceeds(data, depth):
            raise ParseError(f"JSON parse error - nested deeper than {depth} levels.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(data.decode(encoding), parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class LimitedFormParser(parsers.FormParser):
    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        data = _read_limited(stream)
        return super().parse(io.BytesIO(data), media_type, parser_context)
