"""Protocol ``pipe``: one ``SYMBOL|PRICE|SIZE`` line per message -> one Trade.

Registered only through its entry point (``tickerplant.protocols``), never imported by the product.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event, Trade, parse_scaled

__all__ = ["PipeDecoder", "PipeParams"]


class PipeParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    price_decimals: int = 2


class PipeDecoder:
    kind: ClassVar[str] = "pipe"
    Params: ClassVar[type[msgspec.Struct]] = PipeParams

    def __init__(self, stream: str, params: Any = None, sequencer: Sequencer | None = None) -> None:
        self.stream = stream
        self.params = params if isinstance(params, PipeParams) else PipeParams()
        self.sequencer = sequencer or Sequencer(stream)

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        parts = data.strip().split(b"|")
        if len(parts) != 3:
            raise DecodeError("bad_pipe", f"{len(parts)} fields")
        symbol, price, size = (part.decode("ascii", "replace") for part in parts)
        try:
            scaled = parse_scaled(price, self.params.price_decimals)
            quantity = int(size)
        except (ValueError, ArithmeticError) as exc:  # decimal.InvalidOperation included
            raise DecodeError("bad_number", str(exc)) from None
        return [
            Trade(
                stream=self.stream,
                symbol=symbol,
                seq=self.sequencer.next(),
                ts_recv=ts_recv,
                price=scaled,
                size=quantity,
                price_decimals=self.params.price_decimals,
            )
        ]
