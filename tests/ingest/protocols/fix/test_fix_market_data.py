"""Hand-written W/X/f messages of FIX 4.2, 4.4 and 5.0SP2 → book, trade, statistic and status
events (the messages follow each version's dictionary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.base import DecodeError, Sequencer
from ingest.protocols.fix import FixDecoder, FixParams
from pipelines.events import BookDelta, BookSnapshot, Instrument, Statistic, Status, Trade

T0 = 1704202200_123_000_000  # 20240102-13:30:00.123

VERSIONS = {
    "4.2": ("FIX.4.2", "FIX42.xml", "", ""),
    "4.4": ("FIX.4.4", "FIX44.xml", "", ""),
    "5.0SP2": ("FIXT.1.1", "FIX50SP2.xml", "FIXT11.xml", "1128=9|"),
}


def decoder_for(fix_data: Path, version: str) -> tuple[FixDecoder, str, str]:
    begin, app, transport, header = VERSIONS[version]
    folder = fix_data / "quickfix-dict"
    params = FixParams(
        dictionary=str(folder / app),
        transport_dictionary=str(folder / transport) if transport else "",
    )
    return FixDecoder("md", params, Sequencer("md")), begin, header


@pytest.mark.parametrize("version", list(VERSIONS))
def test_snapshot(fix_data: Path, frame, version: str) -> None:
    decoder, begin, header = decoder_for(fix_data, version)
    data = frame(
        begin,
        f"35=W|{header}49=V|56=U|34=5|52=20240102-13:30:00.123|55=ESH4|268=6|"
        "269=1|270=4750.50|271=7|269=0|270=4750.25|271=10|"
        "269=0|270=4750|271=3|269=1|270=4750.75|271=1|"
        "269=2|270=4750.25|271=2|269=6|270=4741.5|",
    )
    events = decoder.decode(data, ts_recv=99)
    snapshot, trade, settlement = events
    assert snapshot == BookSnapshot(
        stream="md",
        symbol="ESH4",
        seq=1,
        venue_seq=5,
        ts_exchange=T0,
        ts_recv=99,
        bids=[(475025, 10), (475000, 3)],
        asks=[(475050, 7), (475075, 1)],
        price_decimals=2,
    )
    assert isinstance(trade, Trade) and (trade.price, trade.size, trade.seq) == (475025, 2, 2)
    assert settlement == Statistic(
        stream="md",
        symbol="ESH4",
        seq=3,
        venue_seq=5,
        ts_exchange=T0,
        ts_recv=99,
        name="settlement",
        value=474150,
        decimals=2,
    )


@pytest.mark.parametrize("version", list(VERSIONS))
def test_incremental(fix_data: Path, frame, version: str) -> None:
    decoder, begin, header = decoder_for(fix_data, version)
    data = frame(
        begin,
        f"35=X|{header}49=V|56=U|34=9|52=20240102-13:30:00.123|268=5|"
        "279=0|269=0|55=ESH4|270=4750.25|271=10|"
        "279=1|269=1|55=ESH4|270=4750.5|271=4|"
        "279=0|269=2|55=ESH4|270=4750.5|271=1|"
        "279=2|269=0|55=ESH4|270=4749.75|271=0|"
        "279=0|269=B|55=ESH4|271=12345|",
    )
    events = decoder.decode(data, ts_recv=1)
    assert [type(event) for event in events] == [BookDelta, BookDelta, Trade, BookDelta, Statistic]
    first, second, _trade, delete, volume = events
    assert isinstance(first, BookDelta) and isinstance(second, BookDelta)
    assert isinstance(delete, BookDelta)
    assert (first.side, first.price, first.size, first.action) == ("bid", 475025, 10, "new")
    assert (second.side, second.price, second.action) == ("ask", 475050, "change")
    assert (delete.price, delete.action) == (474975, "delete")
    assert [first.batch_end, second.batch_end, delete.batch_end] == [False, False, True]
    assert all(event.venue_seq == 9 and event.ts_exchange == T0 for event in events)
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    assert isinstance(volume, Statistic) and (volume.name, volume.value) == ("volume", 12345)


def test_fix50sp2_rptseq_levels_and_implied(fix_data: Path, frame) -> None:
    decoder, begin, header = decoder_for(fix_data, "5.0SP2")
    data = frame(
        begin,
        f"35=X|{header}49=CME|56=U|34=3|52=20240102-13:30:00.123|268=3|"
        "279=0|269=E|48=777|55=ESH4|83=101|270=4750.25|271=5|1023=1|"
        "279=1|269=F|48=777|55=ESH4|83=102|270=4750.5|271=6|1023=2|"
        "279=0|269=2|48=777|55=ESH4|83=103|270=4750.5|271=1|1003=T9|2446=2|",
    )
    implied_bid, implied_ask, trade = decoder.decode(data, 0)
    assert isinstance(implied_bid, BookDelta) and isinstance(implied_ask, BookDelta)
    assert (implied_bid.side, implied_bid.implied, implied_bid.level) == ("bid", True, 1)
    assert (implied_ask.side, implied_ask.implied, implied_ask.level) == ("ask", True, 2)
    assert [implied_bid.venue_seq, implied_ask.venue_seq, trade.venue_seq] == [101, 102, 103]
    assert implied_ask.batch_end and not implied_bid.batch_end
    assert isinstance(trade, Trade) and (trade.side, trade.trade_id) == ("sell", "T9")


def test_fix44_entries_with_tags_its_dictionary_lacks(fix_data: Path, frame) -> None:
    # RptSeq (83) and MDPriceLevel (1023) are not in QuickFIX's 4.4 MDIncGrp; venues send them.
    decoder, begin, _ = decoder_for(fix_data, "4.4")
    data = frame(
        begin,
        "35=X|49=V|56=U|34=3|52=20240102-13:30:00|268=2|"
        "279=0|269=0|55=A|270=10.5|271=1|1023=1|83=50|"
        "279=0|269=0|55=A|270=10.25|271=2|1023=2|83=51|",
    )
    events = decoder.decode(data, 0)
    assert [(e.price, e.level, e.venue_seq) for e in events if isinstance(e, BookDelta)] == [
        (1050, 1, 50),
        (1025, 2, 51),
    ]


def test_instrument_sets_the_scale_and_security_id(fix_data: Path, frame) -> None:
    decoder, begin, header = decoder_for(fix_data, "5.0SP2")
    secdef = frame(
        begin, f"35=d|{header}49=V|56=U|34=1|52=20240102-13:30:00|55=ES|48=777|107=ESH4|969=0.25|"
    )
    instrument = decoder.decode(secdef, 0)[0]
    assert isinstance(instrument, Instrument) and instrument.price_decimals == 2
    # Entries name the instrument by SecurityID only; price strings have fewer decimals.
    data = frame(
        begin,
        f"35=X|{header}49=V|56=U|34=2|52=20240102-13:30:00|268=1|"
        "279=0|269=0|48=777|270=4750|271=1|",
    )
    delta = decoder.decode(data, 0)[0]
    assert isinstance(delta, BookDelta)
    assert (delta.symbol, delta.price, delta.price_decimals) == ("ES", 475000, 2)


def test_empty_book_and_status(fix_data: Path, frame) -> None:
    decoder, begin, _ = decoder_for(fix_data, "4.4")
    reset = decoder.decode(
        frame(begin, "35=X|49=V|56=U|34=1|52=20240102-13:30:00|268=1|279=0|269=J|55=A|"), 0
    )[0]
    assert isinstance(reset, BookSnapshot) and reset.state == "EMPTY" and reset.bids == []
    status = decoder.decode(
        frame(begin, "35=f|49=V|56=U|34=2|52=20240102-13:30:00|55=A|326=2|327=0|"), 0
    )[0]
    assert isinstance(status, Status)
    assert (status.state, status.reason, status.venue_seq) == ("HALT", "HaltReason=0", 2)


def test_bad_values_are_decode_errors_and_keep_seq(fix_data: Path, frame) -> None:
    decoder, begin, _ = decoder_for(fix_data, "4.4")
    bad = frame(
        begin,
        "35=X|49=V|56=U|34=1|52=20240102-13:30:00|268=2|"
        "279=0|269=0|55=A|270=1|271=1|279=0|269=0|55=A|270=abc|271=1|",
    )
    with pytest.raises(DecodeError) as caught:
        decoder.decode(bad, 0)
    assert caught.value.reason == "bad_value"
    assert decoder.sequencer.seq == 0  # the first entry's event was never emitted
    bad_time = frame(begin, "35=f|49=V|56=U|34=2|52=yesterday|55=A|326=2|")
    with pytest.raises(DecodeError) as caught:
        decoder.decode(bad_time, 0)
    assert caught.value.reason == "bad_time"


def test_pipe_separated_logs(frame) -> None:
    decoder = FixDecoder("md", FixParams(separator="|"))
    wire = frame("FIX.4.4", "35=X|268=1|279=0|269=0|55=A|270=1.5|271=2|")
    events = decoder.decode(wire.replace(b"\x01", b"|"), 0)
    assert isinstance(events[0], BookDelta) and events[0].price == 15
