"""Event fields read at their slots by compiled code: checked at import, getattr otherwise."""

from __future__ import annotations

import logging

import pytest

from pipelines import accel
from pipelines.core import fields
from pipelines.events import BookDelta, Metric, Trade, _EventBase

DELTA = BookDelta(
    stream="s", symbol="X", seq=3, ts_recv=4, side="bid", price=1, size=2, action="new"
)


def test_an_event_field_reads_as_getattr_whichever_way_it_is_read() -> None:
    for name in ("stream", "symbol", "seq", "ts_recv", "price", "batch_end"):
        offset = fields.slot_offset(BookDelta, name, DELTA)
        assert fields.read(DELTA, offset, name) is getattr(DELTA, name)
        if accel.compiled(fields):
            assert offset > 0  # a real slot, read in C
        else:
            assert offset == -1  # Python: always getattr


def test_base_offsets_hold_for_every_event_kind() -> None:
    trade = Trade(stream="t", symbol="Y", seq=9, ts_recv=10, price=5, size=6)
    metric = Metric(stream="m", symbol="Z", seq=1, ts_recv=2, name="n", value=1.0, source="x")
    for name in ("stream", "symbol", "seq", "ts_recv"):
        offset = fields.slot_offset(_EventBase, name, DELTA)
        for event in (trade, metric):
            assert fields.read(event, offset, name) == getattr(event, name)


def test_something_that_is_not_a_plain_slot_reads_by_getattr_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Plain:
        __slots__ = ("value",)

        @property
        def doubled(self) -> int:
            return 2 * self.value

    sample = Plain()
    sample.value = 21
    with caplog.at_level(logging.WARNING):
        offset = fields.slot_offset(Plain, "doubled", sample)
    assert offset == -1 and fields.read(sample, offset, "doubled") == 42
    if accel.compiled(fields):
        assert "not a plain object slot" in caplog.text
    # A missing attribute is getattr's error, whichever way.
    with pytest.raises(AttributeError):
        fields.read(sample, -1, "nothing")


def test_subtype_checks_follow_the_mro() -> None:
    assert fields.is_subtype(BookDelta, _EventBase)
    assert not fields.is_subtype(int, _EventBase)
    assert not fields.is_subtype("not a type", _EventBase)  # type: ignore[arg-type]
