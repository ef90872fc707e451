"""The FIX session state machine: bytes in, bytes out, no I/O of its own.

One :class:`FixSession` per session (CompID pair), for the initiator and the acceptor alike. The
transport calls :meth:`~FixSession.connect`, :meth:`~FixSession.receive` with the bytes it reads,
:meth:`~FixSession.on_timer` at :meth:`~FixSession.next_deadline`, and
:meth:`~FixSession.disconnected` when the connection is gone; each returns a
:class:`SessionOutput` (bytes to write, in order; application messages delivered; whether to
close). Time comes from the injected ``clock`` (int ns), so tests drive heartbeats and timeouts
without sleeping.

The rules are those of the FIX session layer as the FIX session test cases (and QuickFIX, whose
scripts we run) define them; the numbers in comments name those cases.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Final

import msgspec

from ingest.protocols.base import DecodeError
from ingest.protocols.fix.dictionary import FixDictionary, load_dictionary
from ingest.protocols.fix.framing import FixFramer
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.parser import FixParser
from ingest.protocols.fix.session.checks import first_error
from ingest.protocols.fix.session.config import SessionConfig
from ingest.protocols.fix.session.messages import (
    ADMIN_TYPES,
    BUSINESS_REJECT_TEXT,
    HEADER_TAGS,
    REJECT_TEXT,
    TRAILER_TAGS,
    Fields,
    build_message,
    split_fields,
)
from ingest.protocols.fix.session.store import FileStore, MemoryStore, SessionStore
from ingest.protocols.fix.timestamps import format_utc_timestamp, parse_fix_time

__all__ = [
    "FixSession",
    "SessionError",
    "SessionOutput",
    "SessionState",
    "UnsupportedMessageType",
]

_NS: Final = 1_000_000_000
# Routing tags a Reject reverses: OnBehalfOf* ↔ DeliverTo* (ReverseRoute scripts).
_REVERSE_ROUTE: Final = (
    ("115", "128"),
    ("128", "115"),
    ("116", "129"),
    ("129", "116"),
    ("144", "145"),
    ("145", "144"),
)
# Header fields a resend rewrites; the rest of a stored message is sent as it was.
_RESEND_REWRITTEN: Final = frozenset({"8", "9", "35", "43", "52", "122", "10"})
_TEST_REQUEST_ID: Final = "TEST"


class SessionState(enum.Enum):
    DISCONNECTED = "disconnected"
    AWAITING_LOGON = "awaiting_logon"  # acceptor: connected, no Logon yet
    LOGON_SENT = "logon_sent"  # initiator: Logon sent, no answer yet
    ACTIVE = "active"
    LOGOUT_SENT = "logout_sent"


class SessionError(RuntimeError):
    """An application message was sent while the session is not logged on."""


class UnsupportedMessageType(Exception):
    """Raised by an application callback: answered with BusinessMessageReject 380=3."""


class SessionOutput(msgspec.Struct):
    """What the transport must do: write ``outgoing`` in order, then close if ``disconnect``.
    ``delivered``: the application messages accepted, in sequence order; ``events``: log lines."""

    outgoing: list[bytes] = msgspec.field(default_factory=list)
    delivered: list[FixMessage] = msgspec.field(default_factory=list)
    disconnect: bool = False
    events: list[str] = msgspec.field(default_factory=list)


Application = Callable[["FixSession", FixMessage], None]


class FixSession:
    """One FIX session. ``application(session, message)`` is called for each application
    message in sequence order, synchronously, so what it sends (``session.send``) goes out in
    order with the session's own messages; it may raise :class:`UnsupportedMessageType`."""

    def __init__(
        self,
        config: SessionConfig,
        *,
        initiator: bool,
        application: Application | None = None,
        store: SessionStore | None = None,
        dictionary: FixDictionary | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.initiator = initiator
        self.application = application
        self.clock = clock
        if store is None:
            store = (
                FileStore(config.store_dir, config.session_id, fsync=config.fsync)
                if config.store_dir
                else MemoryStore()
            )
        self.store = store
        if dictionary is None and config.dictionary:
            dictionary = load_dictionary(config.dictionary)
        self.dictionary = dictionary
        self._parser = FixParser(dictionary, reject_unknown_msg_type=False, keep_negative_tags=True)
        self.state = SessionState.DISCONNECTED
        self._output = SessionOutput()
        self._reset_connection()

    # -- public API --------------------------------------------------------------------------
    @property
    def logged_on(self) -> bool:
        return self.state in (SessionState.ACTIVE, SessionState.LOGOUT_SENT)

    @property
    def heartbeat_interval(self) -> int:
        """Seconds: the initiator's configured value, the acceptor's from the peer's Logon."""
        return self._heartbeat_ns // _NS

    def connect(self) -> SessionOutput:
        """A connection is up: the initiator sends Logon, the acceptor waits for one."""
        self._reset_connection()
        now = self.clock()
        self._logon_deadline = now + int(self.config.logon_timeout * _NS)
        self._last_received = self._last_sent = now
        if self.initiator:
            reset = self.config.reset_on_logon
            if reset:
                self._reset_store()
            self._heartbeat_ns = self.config.heartbeat_interval * _NS
            body: Fields = [("98", "0"), ("108", str(self.config.heartbeat_interval))]
            if reset:
                body.append(("141", "Y"))
            self._sent_reset = reset
            self._send("A", body)
            self.state = SessionState.LOGON_SENT
        else:
            self.state = SessionState.AWAITING_LOGON
        return self.drain()

    def receive(self, data: bytes) -> SessionOutput:
        """Bytes read from the connection (any split)."""
        if self.state is not SessionState.DISCONNECTED and not self._closing:
            skipped = self._framer.skipped_bytes
            frames = self._framer.feed(data)
            if self._framer.skipped_bytes != skipped:
                self._garbled("bytes outside a FIX message")
            for raw in frames:
                if self._closing:
                    break
                self._on_frame(raw)
        return self.drain()

    def on_timer(self) -> SessionOutput:
        """Heartbeat, TestRequest, and the logon, logout and silence timeouts."""
        if self.state is SessionState.DISCONNECTED or self._closing:
            return self.drain()
        now = self.clock()
        if not self.logged_on and now >= self._logon_deadline:
            self._disconnect("no Logon within the logon timeout")
        elif self.state is SessionState.LOGOUT_SENT and now >= self._logout_deadline:
            self._disconnect("no Logout answer within the logout timeout")
        elif self.logged_on and self._heartbeat_ns:
            interval = self._heartbeat_ns
            silence = now - self._last_received
            if silence >= 2.4 * interval:
                self._disconnect("timed out waiting for a heartbeat")
            elif silence >= 1.5 * (self._test_requests + 1) * interval:
                self._send("1", [("112", _TEST_REQUEST_ID)])
                self._test_requests += 1
            elif now - self._last_sent >= interval and not self._test_requests:
                self._send("0", [])
        return self.drain()

    def next_deadline(self) -> int | None:
        """When :meth:`on_timer` must run next (clock ns), None when nothing is timed."""
        if self.state is SessionState.DISCONNECTED or self._closing:
            return None
        if not self.logged_on:
            return self._logon_deadline
        deadlines = []
        if self.state is SessionState.LOGOUT_SENT:
            deadlines.append(self._logout_deadline)
        interval = self._heartbeat_ns
        if interval:
            received = self._last_received
            deadlines.append(received + int(2.4 * interval))
            deadlines.append(received + int(1.5 * (self._test_requests + 1) * interval))
            if not self._test_requests:
                deadlines.append(self._last_sent + interval)
        return min(deadlines) if deadlines else None

    def send(self, msg_type: str, body: Fields, header: Fields | None = None) -> int:
        """Send an application message (``header``: extra header fields such as 97 or 128);
        returns its MsgSeqNum. The bytes are in the next :class:`SessionOutput` (``drain()``)."""
        if not self.logged_on:
            raise SessionError(f"{self.config.session_id} is not logged on")
        return self._send(msg_type, body, header or [])

    def logout(self, text: str = "") -> SessionOutput:
        """Start the Logout handshake; the connection closes on the answer or the timeout."""
        if self.logged_on and self.state is not SessionState.LOGOUT_SENT:
            self._send_logout(text)
        elif not self.logged_on and self.state is not SessionState.DISCONNECTED:
            self._disconnect("logout before logon")
        return self.drain()

    def disconnected(self) -> None:
        """The transport closed (either side)."""
        if self.state is not SessionState.DISCONNECTED and self.config.reset_on_disconnect:
            self._reset_store()
        self.state = SessionState.DISCONNECTED
        self._reset_connection()
        self.store.sync()

    def drain(self) -> SessionOutput:
        """Output collected so far (e.g. after :meth:`send` outside a callback)."""
        output, self._output = self._output, SessionOutput()
        return output

    def close(self) -> None:
        self.store.close()

    # -- connection state --------------------------------------------------------------------
    def _reset_connection(self) -> None:
        self._framer = FixFramer(trust_body_length=True)
        self._closing = False
        self._logon_received = False
        self._sent_reset = False
        self._logon_deadline = 0
        self._logout_deadline = 0
        self._last_received = self._last_sent = 0
        self._test_requests = 0
        self._heartbeat_ns = 0
        self._queue: dict[int, FixMessage] = {}
        self._handled: set[int] = set()  # queued seqs already acted on (Logon, ResendRequest)
        self._resend_range: tuple[int, int] | None = None

    def _reset_store(self) -> None:
        self.store.reset()
        self._queue.clear()
        self._handled.clear()
        self._resend_range = None
        self._event("sequence numbers reset to 1")

    def _event(self, text: str) -> None:
        self._output.events.append(text)

    def _disconnect(self, reason: str) -> None:
        self._event(f"disconnect: {reason}")
        self._closing = True
        self._output.disconnect = True

    def _garbled(self, reason: str) -> None:
        # Garbled input is ignored once logged on (2d, 3b, 3c, 2m, 2t); before the Logon the
        # connection is not a FIX session we know (1d) and is dropped.
        self._event(f"ignored: {reason}")
        if not self._logon_received:
            self._disconnect(f"invalid message before Logon: {reason}")

    @property
    def _expected(self) -> int:
        return self.store.next_target_seq

    def _advance(self) -> None:
        self.store.set_next_target(self.store.next_target_seq + 1)

    # -- outbound ----------------------------------------------------------------------------
    def _send(
        self,
        msg_type: str,
        body: Fields,
        header: Fields | tuple[()] = (),
        *,
        seq: int = 0,
        orig_sending_time: str = "",
    ) -> int:
        """Frame and queue one message; ``seq`` set: a resend or GapFill (not stored, the
        counter not advanced)."""
        now = self.clock()
        fresh = not seq
        if fresh:
            seq = self.store.next_sender_seq
        sending = format_utc_timestamp(now, self.config.time_digits)
        fields: Fields = [
            ("34", str(seq)),
            ("49", self.config.sender_comp_id),
            ("52", sending),
            ("56", self.config.target_comp_id),
            *header,
        ]
        if orig_sending_time:
            fields += [("43", "Y"), ("122", orig_sending_time)]
        data = build_message(self.config.begin_string, msg_type, fields, body)
        if fresh:
            if self.config.persist_messages:
                self.store.save(seq, data)
            self.store.set_next_sender(seq + 1)
        self._output.outgoing.append(data)
        self._last_sent = now
        return seq

    def _send_logout(self, text: str = "") -> None:
        self._send("5", [("58", text)] if text else [])
        self.state = SessionState.LOGOUT_SENT
        self._logout_deadline = self.clock() + int(self.config.logout_timeout * _NS)

    def _reject(self, message: FixMessage, reason: int, tag: str = "") -> None:
        """Reject (3) with RefSeqNum, Text, RefTagID, RefMsgType, SessionRejectReason."""
        header = [
            (to_tag, message.get(from_tag))
            for from_tag, to_tag in _REVERSE_ROUTE
            if message.get(from_tag)
        ]
        body: Fields = []
        if message.get("34"):
            body.append(("45", message.get("34")))
        body.append(("58", REJECT_TEXT.get(reason, "Other")))
        if tag or reason == 0:
            body.append(("371", tag or "0"))
        if message.msg_type:
            body.append(("372", message.msg_type))
        body.append(("373", str(reason)))
        self._event(f"reject {message.get('34')}: {REJECT_TEXT.get(reason)} {tag}")
        self._send("3", body, header)
        if message.msg_type not in ("A", "4") and message.msg_seq_num == self._expected:
            self._advance()

    def _business_reject(self, message: FixMessage, reason: int, tag: str = "") -> None:
        text = BUSINESS_REJECT_TEXT.get(reason, "Other")
        body: Fields = [("45", message.get("34")), ("58", text if not tag else f"{text} ({tag})")]
        body += [("372", message.msg_type), ("380", str(reason))]
        self._send("j", body)
        self._advance()

    def _resend(self, begin: int, end: int) -> None:
        """Answer a ResendRequest: application messages again with PossDup, admin messages and
        holes as SequenceReset-GapFill (8_*, 20)."""
        following = self.store.next_sender_seq
        if end == 0 or end >= following:
            end = following - 1
        current, gap_start = begin, 0
        if self.config.persist_messages:
            for seq, raw in self.store.get(begin, end):
                if seq != current and not gap_start:
                    gap_start = current
                fields = split_fields(raw)
                msg_type = next((value for tag, value in fields if tag == "35"), "")
                if msg_type in ADMIN_TYPES:
                    gap_start = gap_start or seq
                else:
                    if gap_start:
                        self._gap_fill(gap_start, seq)
                        gap_start = 0
                    self._resend_one(seq, msg_type, fields)
                current = seq + 1
        if gap_start:
            self._gap_fill(gap_start, current)
        if end >= current:
            self._gap_fill(current, min(end + 1, following))

    def _gap_fill(self, seq: int, new_seq: int) -> None:
        sending = format_utc_timestamp(self.clock(), self.config.time_digits)
        body: Fields = [("36", str(new_seq)), ("123", "Y")]
        self._send("4", body, seq=seq, orig_sending_time=sending)

    def _resend_one(self, seq: int, msg_type: str, fields: Fields) -> None:
        original = next((value for tag, value in fields if tag == "52"), "")
        header = [
            (tag, value)
            for tag, value in fields
            if tag in HEADER_TAGS and tag not in _RESEND_REWRITTEN and tag not in ("34", "49", "56")
        ]
        body = [(t, v) for t, v in fields if t not in HEADER_TAGS and t not in TRAILER_TAGS]
        self._send(msg_type, body, header, seq=seq, orig_sending_time=original)

    # -- inbound -----------------------------------------------------------------------------
    def _on_frame(self, raw: bytes) -> None:
        try:
            message = self._parser.parse(raw)
        except DecodeError as error:
            self._garbled(f"{error.reason}: {error}")
            return
        if list(message.fields)[:3] != ["8", "9", "35"]:
            self._garbled("BeginString, BodyLength and MsgType must come first")  # 2t
            return
        self._last_received = self.clock()
        self._test_requests = 0
        self._next(message)
        if not self._closing:
            self._process_queue()

    def _process_queue(self) -> None:
        while self._queue and not self._closing:
            for seq in [s for s in self._queue if s < self._expected]:
                del self._queue[seq]
                self._handled.discard(seq)
            message = self._queue.pop(self._expected, None)
            if message is None:
                return
            if message.msg_type == "A" or self._expected in self._handled:
                self._handled.discard(self._expected)
                self._advance()
            else:
                self._next(message)

    def _next(self, message: FixMessage) -> None:
        msg_type = message.msg_type
        missing = next((tag for tag in ("49", "56") if tag not in message.fields), "")
        if missing:  # 14b
            if msg_type not in ADMIN_TYPES:
                self._business_reject(message, 5, missing)
            elif msg_type == "A" and not self._logon_received:
                self._disconnect("Logon without CompIDs")
            else:
                self._reject(message, 1, missing)
            return
        if message.begin_string != self.config.begin_string:  # 2i, 1d
            if not self._logon_received:
                self._disconnect(f"BeginString {message.begin_string!r} at Logon")
            elif msg_type == "5":
                self._next_logout(message)
            else:
                self._send_logout("Incorrect BeginString")
                self._advance()
            return
        if not self._logon_received and msg_type != "A":
            self._disconnect("first message is not a Logon")  # 1e
            return
        if self.dictionary is not None:
            error = first_error(message, self.dictionary)
            if error is not None:
                if msg_type == "A" and not self._logon_received:
                    self._disconnect(f"invalid Logon: {error.text}")
                else:
                    tag = "" if error.reason == 11 else error.tag
                    self._reject(message, error.reason, tag)
                return
        handler = self._handlers.get(msg_type)
        if handler is not None:
            handler(self, message)
        else:
            self._next_application(message)

    def _verify(self, message: FixMessage, check_high: bool, check_low: bool) -> bool:
        """Checks shared by every message type: logon state, SendingTime, CompIDs, MsgSeqNum."""
        if message.msg_type == "A" and self._logon_received and message.get("141") != "Y":
            self._disconnect("Logon while logged on")
            return False
        before_logon = not self._logon_received
        try:
            sending = message.sending_time
        except ValueError:
            sending = 0
        latency = self.config.max_latency * _NS
        if latency and abs(self.clock() - sending) > latency:  # 2o, 1d
            if before_logon:
                self._disconnect("SendingTime of the Logon is off")
            else:
                self._reject(message, 10)
                self._send_logout()
            return False
        if (
            message.sender_comp_id != self.config.target_comp_id
            or message.target_comp_id != self.config.sender_comp_id
        ):  # 2k, 1c
            if before_logon:
                self._disconnect("CompIDs of the Logon do not match the session")
            else:
                self._reject(message, 9)
                self._send_logout()
            return False
        seq = message.msg_seq_num
        if check_high and seq > self._expected:
            self._target_too_high(message)
            return False
        if check_low and seq < self._expected:
            self._target_too_low(message)
            return False
        if (check_high or check_low) and self._resend_range and seq >= self._resend_range[1]:
            self._event(f"resend of {self._resend_range} satisfied")
            self._resend_range = None
        return True

    def _target_too_high(self, message: FixMessage) -> None:
        """Queue it, ask for the gap once (2b, 1a, 10_MsgSeqNumGreater)."""
        seq = message.msg_seq_num
        self._event(f"MsgSeqNum too high, expecting {self._expected} but received {seq}")
        self._queue[seq] = message
        if self._resend_range and seq >= self._resend_range[0]:
            return
        self._resend_range = (self._expected, seq - 1)
        self._send("2", [("7", str(self._expected)), ("16", "0")])

    def _target_too_low(self, message: FixMessage) -> None:
        """Without PossDup: Logout and disconnect (2c); with it: a duplicate, ignored unless
        OrigSendingTime is missing (2g) or later than SendingTime (2f)."""
        seq = message.msg_seq_num
        if not message.poss_dup:
            text = f"MsgSeqNum too low, expecting {self._expected} but received {seq}"
            self._send_logout(text)
            self._disconnect(text)
            return
        if message.msg_type == "4":
            return
        original = message.get("122")
        if not original:
            self._reject(message, 1, "122")
            return
        try:
            later = parse_fix_time(original) > message.sending_time
        except ValueError:
            later = True
        if later:
            self._reject(message, 10)
            self._send_logout()
        else:
            self._event(f"duplicate {seq} ignored")

    # -- per message type --------------------------------------------------------------------
    def _next_logon(self, message: FixMessage) -> None:
        reset = message.get("141") == "Y"
        if self.initiator and self.state is not SessionState.LOGON_SENT and not reset:
            self._disconnect("Logon answer without a Logon sent")
            return
        if reset and not self._sent_reset:
            self._reset_store()  # SessionReset
        elif not self.initiator and not self._logon_received and self.config.reset_on_logon:
            self._reset_store()
        if not self._verify(message, False, True):
            return
        self._logon_received = True
        if not self.initiator:
            self._heartbeat_ns = int(message.get("108") or 0) * _NS
        if not self.initiator or (reset and not self._sent_reset):
            body: Fields = [("98", "0"), ("108", str(self._heartbeat_ns // _NS))]
            if reset:
                body.append(("141", "Y"))
            self._send("A", body)
        self._sent_reset = False
        self.state = SessionState.ACTIVE
        self._event("logged on")
        if message.msg_seq_num > self._expected and not reset:
            self._target_too_high(message)  # 1a: Logon answered, then the gap requested
        else:
            self._advance()

    def _next_heartbeat(self, message: FixMessage) -> None:
        if self._verify(message, True, True):
            self._advance()

    def _next_test_request(self, message: FixMessage) -> None:
        if self._verify(message, True, True):
            self._send("0", [("112", message.get("112"))])
            self._advance()

    def _next_sequence_reset(self, message: FixMessage) -> None:
        gap_fill = message.get("123") == "Y"
        if not self._verify(message, gap_fill, gap_fill):  # Reset mode ignores MsgSeqNum (11a)
            return
        new_seq = message.get("36")
        target = int(new_seq) if new_seq.isdigit() else 0
        if target > self._expected:
            self._event(f"SequenceReset to {target}")
            self.store.set_next_target(target)
        elif target < self._expected:
            self._reject(message, 5)  # 11c: NewSeqNo below the expected number

    def _next_logout(self, message: FixMessage) -> None:
        if not self._verify(message, False, False):
            return
        if self.state is not SessionState.LOGOUT_SENT:
            self._send("5", [])
        if message.msg_seq_num == self._expected:
            self._advance()
        if self.config.reset_on_logout:
            self._reset_store()
        self._disconnect("Logout")

    def _next_resend_request(self, message: FixMessage) -> None:
        # Answered whatever its MsgSeqNum (20: both sides ask at once); a too-high one is also
        # queued as handled, so the sequence advances over it once the gap is filled.
        if not self._verify(message, False, False):
            return
        begin, end = message.get("7"), message.get("16")
        if begin.isdigit() and end.isdigit():
            self._resend(int(begin), int(end))
        seq = message.msg_seq_num
        if seq == self._expected:
            self._advance()
        elif seq > self._expected:
            self._handled.add(seq)
            self._target_too_high(message)

    def _next_reject(self, message: FixMessage) -> None:
        if self._verify(message, False, True):
            self._advance()

    def _next_application(self, message: FixMessage) -> None:
        if not self._verify(message, True, True):
            return
        if self.application is not None:
            try:
                self.application(self, message)
            except UnsupportedMessageType:
                self._business_reject(message, 3)  # 2r
                return
        self._output.delivered.append(message)
        self._advance()

    _handlers: Final[dict[str, Callable[[FixSession, FixMessage], None]]] = {
        "A": _next_logon,
        "0": _next_heartbeat,
        "1": _next_test_request,
        "4": _next_sequence_reset,
        "5": _next_logout,
        "2": _next_resend_request,
        "3": _next_reject,
    }
