"""The fan-out's index against brute force, the gateway's per-topic conflation of a ring poll, and
the frame limits checked before parsing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.topics import matches
from webui.gateway import CachedEvent, FanOut, Subscriber
from webui.ws_frames import frame_problem

TOPICS = [
    f"md.{stream}.{symbol}.{kind}"
    for stream in ("sim", "kraken")
    for symbol in ("BTC-USD", "XBT%2FUSD", "AAPL")
    for kind in ("book", "trade")
] + ["an.sim.BTC-USD.ema", "alert.sim.AAPL.warn"]
PATTERNS = [
    "md.>",
    ">",
    "md.*.*.book",
    "md.sim.>",
    "md.sim.BTC-USD.book",
    "md.*.AAPL.*",
    "an.*.*.*",
    "*.sim.*.*",
    "md.kraken.XBT%2FUSD.trade",
    "nope.>",
]


def _cached(topic: str, seq: int, make_book: Any) -> CachedEvent:
    return CachedEvent(topic, seq, make_book("BTC-USD", seq))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("subscribe"), st.integers(0, 3), st.lists(st.sampled_from(PATTERNS))),
        st.tuples(st.just("unsubscribe"), st.integers(0, 3), st.lists(st.sampled_from(PATTERNS))),
        st.tuples(st.just("publish"), st.integers(0, 3), st.sampled_from(TOPICS)),
        st.tuples(st.just("unregister"), st.integers(0, 3), st.none()),
    ),
    max_size=40,
)


@given(operations)
def test_the_index_routes_exactly_as_matching_every_pattern_would(ops: list[Any]) -> None:
    from tests.webui.conftest import book_event

    latest: dict[str, CachedEvent] = {}
    fanout = FanOut(latest)
    subscribers = [Subscriber(64) for _ in range(4)]
    for subscriber in subscribers:
        fanout.register(subscriber)
    for seq, (op, who, arg) in enumerate(ops, 1):
        subscriber = subscribers[who]
        if op == "subscribe" and arg:
            fanout.subscribe(subscriber, arg)
        elif op == "unsubscribe" and arg:
            fanout.unsubscribe(subscriber, arg)
        elif op == "unregister":
            fanout.unregister(subscriber)
        elif op == "publish":
            latest[arg] = cached = CachedEvent(arg, seq, book_event("BTC-USD", seq))
            fanout.publish(arg, cached)
        for topic in TOPICS:
            expected = {s for s in fanout.subscribers if any(matches(p, topic) for p in s.patterns)}
            assert fanout.wanted_by(topic) == expected, (topic, ops[:seq])
    fanout.route()
    for subscriber in subscribers:
        for topic in (e[1].topic for e in subscriber.mailbox.take()):
            assert subscriber.wants(topic)


def test_snapshots_once_per_newly_matched_topic_then_deltas_with_merged(make_book: Any) -> None:
    latest: dict[str, CachedEvent] = {}
    fanout = FanOut(latest)
    a, b = Subscriber(64), Subscriber(64)
    fanout.register(a)
    fanout.register(b)
    for seq, topic in enumerate(TOPICS, 1):
        latest[topic] = cached = _cached(topic, seq, make_book)
        fanout.publish(topic, cached)
    fanout.route()
    fanout.subscribe(a, ["md.*.*.book", "md.sim.>"])
    snapshots = [(op, c.topic) for op, c, _ in a.mailbox.take()]
    expected = [t for t in TOPICS if matches("md.*.*.book", t) or matches("md.sim.>", t)]
    assert sorted(snapshots) == sorted(("snapshot", t) for t in expected)
    fanout.subscribe(a, ["md.>"])  # only the topics not matched before
    newly = sorted(c.topic for _, c, _ in a.mailbox.take())
    assert newly == ["md.kraken.AAPL.trade", "md.kraken.BTC-USD.trade", "md.kraken.XBT%2FUSD.trade"]
    topic = "md.sim.BTC-USD.book"
    for seq, absorbed in ((100, 0), (101, 4), (102, 0)):  # one round: one frame, merged 6
        fanout.publish(topic, _cached(topic, seq, make_book), absorbed)
    fanout.route()
    ((op, cached, merged),) = a.mailbox.take()
    assert (op, cached.seq, merged) == ("delta", 102, 6)
    assert len(b.mailbox) == 0
    frame = json.loads(cached.frame("delta", merged))
    assert (frame["op"], frame["topic"], frame["seq"], frame["merged"]) == ("delta", topic, 102, 6)
    assert frame["data"]["kind"] == "book_snapshot"
    fanout.unregister(a)
    fanout.publish(topic, _cached(topic, 103, make_book))
    fanout.route()
    assert len(a.mailbox) == 0 and fanout.wanted_by(topic) == set()


def test_a_ring_poll_is_conflated_per_topic_and_merged_counts_what_was_skipped(
    gateway: Any, ring_writer: Any, make_book: Any
) -> None:
    from pipelines.events import encode
    from pipelines.topics import event_topic

    subscriber = Subscriber(64)
    gateway.register(subscriber)
    gateway.subscribe(subscriber, ["md.>"])
    for seq in range(1, 6):
        event = make_book("BTC-USD", seq)
        ring_writer.publish(event_topic(event), encode(event))
    event = make_book("ETH-USD", 6)
    ring_writer.publish(event_topic(event), encode(event))
    ring_writer.publish(event_topic(make_book("BTC-USD", 7)), b"\xc1 not msgpack")
    assert gateway.poll_once() == 7
    gateway.fanout.route()
    frames = {c.topic: (op, c.seq, merged) for op, c, merged in subscriber.mailbox.take()}
    assert frames == {  # BTC 7 does not decode: 5 is delivered, having absorbed 1-4
        "md.sim.BTC-USD.book": ("delta", 5, 4),
        "md.sim.ETH-USD.book": ("delta", 6, 0),
    }
    assert gateway.decode_errors == 1
    assert gateway.latest["md.sim.BTC-USD.book"].seq == 5


class _Recorder:
    """A socket that records frames; ``backlog`` is what the test says it is."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.pending = 0
        self.cut: tuple[str, str] | None = None

    async def send_text(self, text: str) -> bool:
        self.frames.append(json.loads(text))
        return True

    def backlog(self) -> int:
        return self.pending

    async def cut_off(self, code: str, message: str) -> None:
        self.cut = (code, message)


def test_a_socket_over_its_backlog_is_held_then_cut_off_alone(make_book: Any) -> None:
    async def scenario() -> None:
        latest: dict[str, CachedEvent] = {}
        fanout = FanOut(latest)
        slow_socket, fast_socket = _Recorder(), _Recorder()
        slow = Subscriber(64, slow_socket, heartbeat_seconds=0, backlog_limit=100, stall_seconds=5)
        fast = Subscriber(64, fast_socket, heartbeat_seconds=0, backlog_limit=100, stall_seconds=5)
        for subscriber in (slow, fast):
            fanout.register(subscriber)
            fanout.subscribe(subscriber, ["md.>"])
        slow_socket.pending = 101
        topic = "md.sim.BTC-USD.book"
        for now, seq in ((0.0, 1), (1.0, 2), (4.0, 3)):
            fanout.publish(topic, _cached(topic, seq, make_book))
            await fanout.round(now)
        assert [f["seq"] for f in fast_socket.frames] == [1, 2, 3]
        assert slow_socket.frames == [] and len(slow.mailbox) == 1  # held, conflated
        await fanout.round(6.0)  # over the limit for more than 5 s
        assert slow_socket.cut is not None and slow_socket.cut[0] == "slow_consumer"
        assert slow not in fanout.subscribers and fast in fanout.subscribers
        fanout.publish(topic, _cached(topic, 4, make_book))
        await fanout.round(7.0)
        assert [f["seq"] for f in fast_socket.frames] == [1, 2, 3, 4]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"op": "subscribe", "id": 1, "topics": ["md.>"]}', None),
        ("[" * 33 + "]" * 33, "too_deep"),
        ("[" * 32 + "]" * 32, None),
        ("[" * 60_000, "too_deep"),
        ("[{" * 20 + "}]" * 20, "too_deep"),
        ('["' + "[" * 5000 + '"]', None),  # brackets inside a string do not nest
        ('["\\"' + "[" * 5000 + '"]', None),  # nor after an escaped quote
        ("[" * 40 + "}" * 40, "too_deep"),  # unmatched, and deeper than 32 openers
        ("[}" * 40, None),  # malformed but shallow: the parser says bad JSON
        ("x" * 65_537, "too_large"),
        ("é" * 32_769, "too_large"),  # 65,538 bytes in UTF-8
    ],
)
def test_frame_limits_before_parsing(text: str, code: str | None) -> None:
    problem = frame_problem(text, 65_536, 32)
    assert (problem.code if problem else None) == code
    if code is None and text.startswith("[") and "}" not in text:
        json.loads(text)  # what passes the depth check is safe to parse
