"""A rejected FIX message leaves no trace (issue 12): before, a price with more decimals than
int64 can hold at the symbol's scale (``4517.750000000000000001``) widened the symbol's scale to
18 decimals for good, and every later price of the symbol was out of range: one bad value
stopped the symbol. On the reference and on the compiled twins (two-step and fused)."""

from __future__ import annotations

import pytest

from ingest.protocols.base import DecodeError
from ingest.protocols.fix import FixDecoder, FixParser

PATHS = [False, None] if FixParser().compiled else [False]


def frame(body: str) -> bytes:
    payload = body.replace("|", "\x01").encode()
    head = b"8=FIX.4.4\x019=%d\x01" % len(payload) + payload
    return head + b"10=%03d\x01" % (sum(head) % 256)


X = "35=X|34={seq}|52=20240102-13:30:00|268=1|279=0|269=0|55=ESZ4|270={price}|271=2|"
D = "35=d|34={seq}|52=20240102-13:30:00|55=NQZ4|48=1234|969=0.25|83={rpt}|"


@pytest.mark.parametrize("compiled", PATHS)
def test_a_rejected_price_does_not_widen_the_scale(compiled: bool | None) -> None:
    decoder = FixDecoder("s", compiled=compiled)
    (first,) = decoder.decode(frame(X.format(seq=1, price="4517.75")), 0)
    with pytest.raises(DecodeError) as info:
        decoder.decode(frame(X.format(seq=2, price="4517.750000000000000001")), 0)
    assert info.value.reason == "out_of_range"
    assert decoder.normalizer.price_decimals == {"ESZ4": 2}
    (after,) = decoder.decode(frame(X.format(seq=3, price="4517.75")), 0)
    assert (after.price, after.price_decimals, after.seq) == (451775, 2, first.seq + 1)


@pytest.mark.parametrize("compiled", PATHS)
def test_a_new_symbol_rejected_leaves_nothing_behind(compiled: bool | None) -> None:
    decoder = FixDecoder("s", compiled=compiled)
    with pytest.raises(DecodeError):
        decoder.decode(frame(X.format(seq=1, price="1" + "0" * 30)), 0)
    assert decoder.normalizer.price_decimals == {} and decoder.normalizer.size_decimals == {}
    # A security definition that fails after its writes (RptSeq past int64) is undone too.
    with pytest.raises(DecodeError) as info:
        decoder.decode(frame(D.format(seq=2, rpt="9" * 30)), 0)
    assert info.value.reason == "out_of_range"
    normalizer = decoder.normalizer
    assert (normalizer.price_decimals, normalizer.security_ids) == ({}, {})
    (instrument,) = decoder.decode(frame(D.format(seq=3, rpt="7")), 0)
    assert instrument.seq == 1 and normalizer.security_ids == {"1234": "NQZ4"}
