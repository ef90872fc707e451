"""``--emit events`` prints exactly ``pipelines.events.to_json_dict`` of every event."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ingest.capture import read_udp
from ingest.capture.ws_capture import read_ws_capture
from ingest.protocols.cme_mdp3 import CmeMdp3Decoder, CmeMdp3Params
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines.events import (
    Alert,
    Event,
    Instrument,
    Metric,
    Order,
    Quote,
    Statistic,
    Status,
    to_json_dict,
)
from pipelines.replay.emit import EventsEmitter, Output, compile_edge_form


def every_kind() -> list[Event]:
    common = {
        "stream": "s",
        "symbol": "X",
        "seq": 3,
        "venue_seq": 9,
        "ts_exchange": 1,
        "ts_recv": 2,
    }
    return [
        Quote(**common, bid_price=101, bid_size=5, ask_price=-3, ask_size=0, price_decimals=2, size_decimals=1),
        Order(**common, order_id="o", side="ask", price=7, size=70, action="execute", price_decimals=-1),
        Instrument(**common, tick_size=25, price_decimals=2, venue_ids={"a": "b"}, description="d"),
        Statistic(**common, name="open_interest", value=12345, decimals=3),
        Metric(**common, name="ema", value=1.5, source="book"),
        Alert(**common, rule="r", severity="warning", message="m"),
        Status(**common, state="GAP", reason="why"),
    ]  # fmt: skip


def test_compiled_forms_equal_to_json_dict(shared_data: Path) -> None:
    events = every_kind()
    cme = shared_data / "sbe" / "cme-mdp3"
    decoder = CmeMdp3Decoder("cme", CmeMdp3Params(schema=str(cme / "templates_FixBinary_v9.xml")))
    for capture in sorted(cme.glob("v*_samples/*.pcap")):
        for datagram in read_udp(capture):
            events += decoder.decode(datagram.payload, datagram.ts_ns)
    kraken = MappedJsonDecoder("k", MappedParams(mapping="kraken"))
    for record in read_ws_capture(shared_data / "ws" / "kraken" / "KRAKEN.ws.50.0"):
        if record.direction == "recv":
            events += kraken.decode(record.payload, record.ts_recv_ns)
    assert len({type(event) for event in events}) >= 10
    for event in events:
        assert compile_edge_form(type(event))(event) == to_json_dict(event), event


def test_the_emitter_writes_one_line_per_event() -> None:
    stream = io.BytesIO()
    output = Output(stream)
    emitter = EventsEmitter(output)
    events = every_kind()
    emitter(events[:3])
    emitter(events[3:])
    output.flush()
    lines = stream.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [to_json_dict(e) for e in events]


def test_books_follow_the_pipelines_health_rules() -> None:
    from pipelines.events import BookDelta, BookSnapshot
    from pipelines.replay.emit import BooksEmitter

    common = {"stream": "s", "symbol": "X", "price_decimals": 1}
    stream = io.BytesIO()
    output = Output(stream)
    books = BooksEmitter(output, depth=2)
    books(
        [BookDelta(**common, seq=1, side="bid", price=100, size=1, action="new", batch_end=False)]
    )
    books([BookDelta(**common, seq=2, side="ask", price=101, size=2, action="new")])
    books([Status(stream="s", symbol="X", seq=3, state="RESYNC", reason="gap")])
    books([BookDelta(**common, seq=4, side="bid", price=99, size=9, action="new")])  # dropped
    books([BookSnapshot(**common, seq=5, bids=[(98, 1)], asks=[(102, 1), (103, 4), (104, 5)])])
    books([BookDelta(**common, seq=6, side="bid", price=105, size=3, action="new")])  # crosses
    output.flush()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["seq"], line["state"], line["bids"], line["asks"]) for line in lines] == [
        (2, "LIVE", [["10.0", "1"]], [["10.1", "2"]]),
        (5, "LIVE", [["9.8", "1"]], [["10.2", "1"], ["10.3", "4"]]),
        (6, "LIVE|CROSSED", [["10.5", "3"], ["9.8", "1"]], [["10.2", "1"], ["10.3", "4"]]),
    ]
    assert books.books[("s", "X")].dropped == 1
