"""The session state machine, driven bytes in → output, with an injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.fix import FixDictionary
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.session import (
    FixSession,
    SessionConfig,
    SessionError,
    SessionState,
    UnsupportedMessageType,
)

ACCEPTOR = SessionConfig(sender_comp_id="ISLD", target_comp_id="TW44")


def acceptor(clock, application=None, dictionary=None, **overrides) -> FixSession:
    config = SessionConfig(sender_comp_id="ISLD", target_comp_id="TW44", **overrides)
    session = FixSession(
        config, initiator=False, application=application, dictionary=dictionary, clock=clock
    )
    session.connect()
    return session


def logged_on(clock, peer, fields, heartbeat: int = 30, **kwargs) -> FixSession:
    session = acceptor(clock, **kwargs)
    out = session.receive(peer.msg("A", [("98", "0"), ("108", str(heartbeat))]))
    assert [fields(m)["35"] for m in out.outgoing] == ["A"]
    assert session.state is SessionState.ACTIVE
    return session


def types(output, fields) -> list[str]:
    return [fields(m)["35"] for m in output.outgoing]


# -- logon ---------------------------------------------------------------------------------------
def test_logon_is_answered_with_the_peers_heartbeat_interval(clock, peer, fields) -> None:
    session = acceptor(clock)
    out = session.receive(peer.msg("A", [("98", "0"), ("108", "17")]))
    reply = fields(out.outgoing[0])
    assert (reply["35"], reply["34"], reply["108"], reply["49"], reply["56"]) == (
        "A",
        "1",
        "17",
        "ISLD",
        "TW44",
    )
    assert session.heartbeat_interval == 17
    assert (session.store.next_sender_seq, session.store.next_target_seq) == (2, 2)


def test_first_message_must_be_a_logon(clock, peer, fields) -> None:
    out = acceptor(clock).receive(peer.msg("0"))
    assert out.disconnect and not out.outgoing


@pytest.mark.parametrize(
    ("sender", "target", "offset"),
    [("WT", "ISLD", 0), ("TW44", "DLSI", 0), ("TW44", "ISLD", -3600)],
    ids=["bad-sender", "bad-target", "bad-sending-time"],
)
def test_invalid_logon_disconnects_without_answer(clock, make_peer, sender, target, offset):
    stranger = make_peer(sender, target)
    out = acceptor(clock).receive(
        stranger.msg("A", [("98", "0"), ("108", "30")], sending_offset=offset)
    )
    assert out.disconnect and not out.outgoing


def test_logon_with_msgseqnum_too_high_is_answered_then_resend_requested(clock, peer, fields):
    session = acceptor(clock)
    out = session.receive(peer.msg("A", [("98", "0"), ("108", "30")], seq=5))
    assert types(out, fields) == ["A", "2"]
    assert (fields(out.outgoing[1])["7"], fields(out.outgoing[1])["16"]) == ("1", "0")


def test_logon_timeout(clock) -> None:
    session = acceptor(clock, logon_timeout=5)
    assert session.next_deadline() == clock.now + 5_000_000_000
    clock.advance(5)
    assert session.on_timer().disconnect


# -- heartbeats and test requests ----------------------------------------------------------------
def test_heartbeat_after_an_interval_without_output(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields, heartbeat=10)
    clock.advance(9.9)
    assert not session.on_timer().outgoing
    session.receive(peer.msg("0"))  # inbound traffic does not replace our heartbeat
    clock.advance(0.1)
    assert types(session.on_timer(), fields) == ["0"]


def test_test_request_after_silence_then_disconnect(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields, heartbeat=10)
    clock.advance(10)
    assert types(session.on_timer(), fields) == ["0"]
    assert session.next_deadline() == clock.now + 5_000_000_000  # 1.5 intervals of silence
    clock.advance(5)
    out = session.on_timer()
    assert types(out, fields) == ["1"] and fields(out.outgoing[0])["112"] == "TEST"
    clock.advance(9)  # 2.4 intervals without a word from the peer
    assert session.on_timer().disconnect


def test_answered_test_request_keeps_the_session(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields, heartbeat=10)
    clock.advance(15)
    session.on_timer()
    session.receive(peer.msg("0", [("112", "TEST")]))
    clock.advance(10)
    assert not session.on_timer().disconnect


def test_test_request_is_answered_with_its_id(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    out = session.receive(peer.msg("1", [("112", "ping-7")]))
    assert fields(out.outgoing[0])["35"] == "0" and fields(out.outgoing[0])["112"] == "ping-7"


# -- sequence numbers ----------------------------------------------------------------------------
def test_gap_is_requested_queued_and_delivered_in_order(clock, peer, fields) -> None:
    seen: list[str] = []
    session = logged_on(clock, peer, fields, application=lambda s, m: seen.append(m.get("11")))
    out = session.receive(peer.msg("D", [("11", "c4")], seq=4))
    assert types(out, fields) == ["2"] and fields(out.outgoing[0])["7"] == "2"
    assert not seen
    session.receive(peer.msg("D", [("11", "c2")], seq=2))
    out = session.receive(peer.msg("D", [("11", "c3")], seq=3))
    assert seen == ["c2", "c3", "c4"]
    assert [m.get("11") for m in out.delivered] == ["c3", "c4"]
    assert session.store.next_target_seq == 5


def test_too_low_without_possdup_logs_out_and_disconnects(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    session.receive(peer.msg("0"))
    out = session.receive(peer.msg("0", seq=2))
    assert out.disconnect
    assert fields(out.outgoing[0])["58"] == "MsgSeqNum too low, expecting 3 but received 2"


def test_possdup_duplicate_is_ignored(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    session.receive(peer.msg("0"))
    orig = fields(peer.msg("0", seq=99))["52"]
    out = session.receive(peer.msg("0", seq=2, header=[("43", "Y"), ("122", orig)]))
    assert not out.outgoing and not out.disconnect


def test_possdup_without_orig_sending_time_is_rejected(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    session.receive(peer.msg("0"))
    out = session.receive(peer.msg("0", seq=2, header=[("43", "Y")]))
    reject = fields(out.outgoing[0])
    assert (reject["35"], reject["371"], reject["373"]) == ("3", "122", "1")


def test_orig_sending_time_after_sending_time_is_rejected_and_logged_out(clock, peer, fields):
    session = logged_on(clock, peer, fields)
    session.receive(peer.msg("0"))
    clock.advance(10)
    later = fields(peer.msg("0", seq=99))["52"]
    clock.advance(-10)
    out = session.receive(peer.msg("0", seq=2, header=[("43", "Y"), ("122", later)]))
    assert types(out, fields) == ["3", "5"] and fields(out.outgoing[0])["373"] == "10"


def test_sending_time_off_by_more_than_120_s(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    out = session.receive(peer.msg("0", sending_offset=121))
    assert types(out, fields) == ["3", "5"]
    reject = fields(out.outgoing[0])
    assert (reject["58"], reject["373"], reject["45"]) == (
        "SendingTime accuracy problem",
        "10",
        "2",
    )
    assert session.state is SessionState.LOGOUT_SENT
    clock.advance(2)
    assert session.on_timer().disconnect  # no Logout answer within logout_timeout


def test_sequence_reset_modes(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    session.receive(peer.msg("4", [("36", "10")], seq=0))  # Reset mode: MsgSeqNum ignored
    assert session.store.next_target_seq == 10
    out = session.receive(peer.msg("4", [("36", "3")], seq=0))
    reject = fields(out.outgoing[0])
    assert (reject["35"], reject["372"], reject["373"]) == ("3", "4", "5")
    session.receive(peer.msg("4", [("36", "20"), ("123", "Y")], seq=10))  # GapFill
    assert session.store.next_target_seq == 20


# -- resend --------------------------------------------------------------------------------------
def test_resend_request_gap_fills_admin_and_resends_application(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields)
    session.receive(peer.msg("1", [("112", "x")]))  # our 2: Heartbeat (admin)
    session.send("W", [("55", "AAPL"), ("268", "0")])  # our 3
    session.drain()
    original = session.store.get(3, 3)[0][1]
    clock.advance(1)
    out = session.receive(peer.msg("2", [("7", "1"), ("16", "0")]))
    gap, resent = (fields(m) for m in out.outgoing)
    assert (gap["35"], gap["34"], gap["36"], gap["123"], gap["43"]) == ("4", "1", "3", "Y", "Y")
    assert (resent["35"], resent["34"], resent["43"], resent["55"]) == ("W", "3", "Y", "AAPL")
    assert resent["122"] == fields(original)["52"] != resent["52"]
    assert session.store.next_sender_seq == 4  # resends reuse their numbers


def test_resend_without_stored_messages_is_one_gap_fill(clock, peer, fields) -> None:
    session = logged_on(clock, peer, fields, persist_messages=False)
    session.send("W", [("55", "AAPL"), ("268", "0")])
    out = session.receive(peer.msg("2", [("7", "1"), ("16", "0")]))
    (gap,) = (fields(m) for m in out.outgoing if fields(m)["35"] == "4")
    assert (gap["34"], gap["36"]) == ("1", "3")


# -- application ---------------------------------------------------------------------------------
def test_unsupported_message_type_gets_business_reject(clock, peer, fields) -> None:
    def refuse(session: FixSession, message: FixMessage) -> None:
        raise UnsupportedMessageType(message.msg_type)

    session = logged_on(clock, peer, fields, application=refuse)
    out = session.receive(peer.msg("8", [("37", "x")]))
    reject = fields(out.outgoing[0])
    assert (reject["35"], reject["372"], reject["380"], reject["58"]) == (
        "j",
        "8",
        "3",
        "Unsupported Message Type",
    )
    assert session.store.next_target_seq == 3


def test_send_before_logon_raises(clock) -> None:
    with pytest.raises(SessionError):
        acceptor(clock).send("W", [])


def test_validation_errors_become_rejects(clock, peer, fields, fix44: FixDictionary) -> None:
    session = logged_on(clock, peer, fields, dictionary=fix44)
    cases = [
        (peer.msg("0", header=[("999", "x")]), "999", "0"),
        (
            peer.msg("D", [("21", "1"), ("40", "1"), ("54", "1"), ("60", "20260528-00:00:00")]),
            "11",
            "1",
        ),
        (peer.msg("0", [("55", "MSFT")]), "55", "2"),
        (
            peer.msg("D", [("11", "a"), ("40", "1"), ("54", "Z"), ("60", "20260528-00:00:00")]),
            "54",
            "5",
        ),
        (peer.msg("D", [("11", "a"), ("40", "1"), ("54", "1"), ("60", "20260528")]), "60", "6"),
        (
            peer.msg(
                "D",
                [("11", "a"), ("40", "1"), ("40", "2"), ("54", "1"), ("60", "20260528-00:00:00")],
            ),
            "40",
            "13",
        ),
    ]
    for raw, tag, reason in cases:
        out = session.receive(raw)
        reject = fields(out.outgoing[0])
        assert (reject["35"], reject["371"], reject["373"]) == ("3", tag, reason), raw
    assert session.store.next_target_seq == 2 + len(cases)  # a rejected message is consumed


# -- initiator and logout ------------------------------------------------------------------------
def test_initiator_logon_logout_handshake(clock, make_peer, fields) -> None:
    config = SessionConfig(
        sender_comp_id="TW44", target_comp_id="ISLD", heartbeat_interval=20, reset_on_logon=True
    )
    session = FixSession(config, initiator=True, clock=clock)
    logon = fields(session.connect().outgoing[0])
    assert (logon["35"], logon["108"], logon["141"]) == ("A", "20", "Y")
    venue = make_peer("ISLD", "TW44")
    out = session.receive(venue.msg("A", [("98", "0"), ("108", "20"), ("141", "Y")]))
    assert not out.outgoing and session.state is SessionState.ACTIVE
    assert types(session.logout("bye"), fields) == ["5"]
    assert session.receive(venue.msg("5")).disconnect
    session.disconnected()
    assert session.state is SessionState.DISCONNECTED


def test_sequence_numbers_survive_a_restart(clock, peer, fields, tmp_path: Path) -> None:
    session = logged_on(clock, peer, fields, store_dir=str(tmp_path))
    session.receive(peer.msg("0"))
    session.disconnected()
    session.close()
    again = acceptor(clock, store_dir=str(tmp_path))
    assert (again.store.next_sender_seq, again.store.next_target_seq) == (2, 3)
    out = again.receive(peer.msg("A", [("98", "0"), ("108", "30")]))
    assert fields(out.outgoing[0])["34"] == "2"
