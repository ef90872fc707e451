"""CME MDP 3.0 on the real v8/v9 captures: every packet decodes, values checked by hand."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.capture import read_udp
from ingest.protocols.cme_mdp3 import CmeMdp3Decoder, CmeMdp3Params
from pipelines.events import BookDelta, Event, Order, Statistic, Status, Trade, to_json_dict
from pipelines.registry import PROTOCOLS

CAPTURES = {
    # file -> messages per template after A/B arbitration
    "v8_samples/MdIncrementalRefreshSessionStatistics.pcap": {32: 181, 35: 179, 37: 19, 30: 3},
    "v8_samples/MdIncrementalRefreshVolume.pcap": {37: 56, 32: 61, 35: 20, 30: 3},
    "v8_samples/MdIncrementalRefreshTradeSummary.pcap": {42: 1, 37: 1, 32: 1},
    "v9_samples/MdIncrementalRefreshBook.pcap": {46: 2},
    "v9_samples/MdIncrementalRefreshOrderBook.pcap": {47: 1},
    "v9_samples/MdIncrementalRefreshTradeSummary.pcap": {48: 1, 37: 1, 47: 1, 46: 2},
    "v9_samples/MdIncrementalRefreshVolume.pcap": {37: 2, 46: 4, 48: 1},
}


@pytest.fixture(scope="module")
def cme(shared_data: Path) -> Path:
    return shared_data / "sbe" / "cme-mdp3"


def run(
    cme: Path, capture: str, schema: str, **options: object
) -> tuple[CmeMdp3Decoder, list[Event]]:
    decoder = CmeMdp3Decoder("cme", CmeMdp3Params(schema=str(cme / schema), **options))
    events: list[Event] = []
    for datagram in read_udp(cme / capture):
        events.extend(decoder.decode(datagram.payload, datagram.ts_ns))
    return decoder, events


@pytest.mark.parametrize("capture", sorted(CAPTURES))
@pytest.mark.parametrize("schema", ["own", "templates_FixBinary_v9.xml"])
def test_every_packet_decodes(cme: Path, capture: str, schema: str) -> None:
    schema_file = f"templates_FixBinary_{capture[:2]}.xml" if schema == "own" else schema
    decoder, events = run(cme, capture, schema_file)
    assert not decoder.errors
    assert not decoder.normalizer.unmapped
    assert dict(decoder.messages) == CAPTURES[capture]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events


def test_v8_trade_summary_values(cme: Path) -> None:
    _, events = run(
        cme, "v8_samples/MdIncrementalRefreshTradeSummary.pcap", "templates_FixBinary_v8.xml"
    )
    assert [type(e) for e in events] == [Trade, Statistic, BookDelta]
    trade, volume, book = events
    assert to_json_dict(trade) | {"ts_recv": 0} == {
        "kind": "trade",
        "stream": "cme",
        "symbol": "175316",
        "seq": 1,
        "venue_seq": 3166132,
        "ts_exchange": 1475013600442630767,
        "ts_recv": 0,
        "priority": 0,
        "price": "11260.0000000",  # PRICE: exponent -7
        "size": "1",
        "price_decimals": 7,
        "size_decimals": 0,
        "side": "buy",
        "trade_id": "",
    }
    assert isinstance(volume, Statistic)
    assert (volume.name, volume.value, volume.venue_seq) == ("volume", 35, 3166133)
    assert isinstance(book, BookDelta)
    assert (book.side, book.price, book.size, book.action, book.level) == (
        "ask",
        112600000000,
        26,
        "change",
        1,
    )
    assert book.batch_end and book.price_decimals == 7


def test_v9_trade_summary_values(cme: Path) -> None:
    _, events = run(
        cme, "v9_samples/MdIncrementalRefreshTradeSummary.pcap", "templates_FixBinary_v9.xml"
    )
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) == 1
    trade = trades[0]
    assert (trade.symbol, trade.price, trade.price_decimals, trade.size, trade.side) == (
        "170506",
        12952000000000,  # PRICE9: exponent -9
        9,
        2,
        "sell",
    )
    assert to_json_dict(trade)["price"] == "12952.000000000"
    assert trade.trade_id == "341412" and trade.venue_seq == 20185
    orders = [e for e in events if isinstance(e, Order)]
    assert [(o.order_id, o.action, o.size) for o in orders] == [
        ("88463939692", "cancel", 1),
        ("88463940665", "modify", 2),
    ]
    implied = [e for e in events if isinstance(e, BookDelta) and e.implied]
    assert [(e.symbol, e.side, e.price, e.size) for e in implied] == [
        ("5893", "bid", 13003000000000, 3)
    ]


def test_v9_book_with_order_entries(cme: Path) -> None:
    _, events = run(cme, "v9_samples/MdIncrementalRefreshBook.pcap", "templates_FixBinary_v9.xml")
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert len(deltas) == 23
    assert [d.batch_end for d in deltas] == [False] * 22 + [True]
    assert {d.price_decimals for d in deltas} == {9}
    first = deltas[0]
    assert (first.symbol, first.side, first.price, first.action, first.venue_seq) == (
        "157660",
        "ask",
        15230000000000,
        "delete",
        411,
    )
    orders = [e for e in events if isinstance(e, Order)]
    assert len(orders) == 16
    # ReferenceID 2 -> the second entry: SecurityID 157660, offer at 15250.
    assert (orders[0].order_id, orders[0].symbol, orders[0].price, orders[0].action) == (
        "563189401446",
        "157660",
        15250000000000,
        "modify",
    )


def test_v8_captures_hold_both_feeds(cme: Path) -> None:
    # The v8 captures carry every packet twice (feeds A and B): arbitration keeps one.
    decoder, events = run(
        cme, "v8_samples/MdIncrementalRefreshVolume.pcap", "templates_FixBinary_v8.xml"
    )
    assert decoder.arbiter.duplicates == 56
    assert decoder.packets == 56
    raw, _ = run(
        cme,
        "v8_samples/MdIncrementalRefreshVolume.pcap",
        "templates_FixBinary_v8.xml",
        arbitrate=False,
    )
    assert raw.packets == 112
    # Without arbitration the second copies are caught by RptSeq as stale entries.
    assert raw.normalizer.rpt_seq.stale > 0
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds["Statistic"] == 97 and kinds["BookDelta"] == 113


def test_statuses_and_statistics_on_session_statistics(cme: Path) -> None:
    decoder, events = run(
        cme, "v8_samples/MdIncrementalRefreshSessionStatistics.pcap", "templates_FixBinary_v8.xml"
    )
    statuses = [e for e in events if isinstance(e, Status)]
    trading = [s for s in statuses if s.state not in ("GAP",)]
    assert len(trading) == 3
    gaps = [s for s in statuses if s.state == "GAP"]
    # The sample is a filtered extract: packet and RptSeq gaps are real and all reported.
    assert len(gaps) == decoder.arbiter.gaps + decoder.rpt_seq_gaps
    names = Counter(e.name for e in events if isinstance(e, Statistic))
    assert names["volume"] == 20  # 19 Volume messages, one with two entries
    assert set(names) <= {
        "volume",
        "open",
        "high",
        "low",
        "highest_bid",
        "lowest_offer",
        "indicative_open",
        "indicative_open_size",
        "open_size",
        "high_size",
        "low_size",
        "highest_bid_size",
        "lowest_offer_size",
        "indicative_open_delete",
        "indicative_open_delete_size",
    }


def test_plugin_is_registered() -> None:
    assert PROTOCOLS.get("cme_mdp3") is CmeMdp3Decoder
    with pytest.raises(ValueError, match="schema"):
        PROTOCOLS.params("cme_mdp3", {})
