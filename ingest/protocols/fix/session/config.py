"""Configuration of one FIX session (one SenderCompID/TargetCompID pair)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = ["SessionConfig"]


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``sender_comp_id`` is our CompID, ``target_comp_id`` the counterparty's.

    - ``heartbeat_interval``: seconds; the initiator sends it as HeartBtInt (108), the acceptor
      adopts the value of the counterparty's Logon.
    - ``store_dir``: directory of the sequence-number and message files (one set per session);
      empty keeps them in memory (tests, throw-away market-data sessions).
    - ``reset_on_logon`` / ``reset_on_logout`` / ``reset_on_disconnect``: start again at
      MsgSeqNum 1 at that moment (the initiator also sends ResetSeqNumFlag 141=Y on Logon).
    - ``persist_messages``: keep sent messages for ResendRequest; without, a resend is answered
      with one SequenceReset-GapFill (right for market data, where stale updates are useless).
    - ``fsync``: fsync the store once per batch of output, before the batch goes on the wire.
    - ``dictionary``: QuickFIX XML for message validation (Reject 373 codes); empty checks only
      the session header.
    - ``max_latency``: seconds SendingTime may differ from our clock (Reject 373=10 and Logout
      beyond); 0 disables the check.
    """

    begin_string: str = "FIX.4.4"
    sender_comp_id: Annotated[str, Meta(min_length=1)]
    target_comp_id: Annotated[str, Meta(min_length=1)]
    heartbeat_interval: Annotated[int, Meta(ge=0)] = 30
    store_dir: str = ""
    reset_on_logon: bool = False
    reset_on_logout: bool = False
    reset_on_disconnect: bool = False
    persist_messages: bool = True
    fsync: bool = True
    dictionary: str = ""
    max_latency: Annotated[int, Meta(ge=0)] = 120
    logon_timeout: Annotated[float, Meta(gt=0)] = 10.0
    logout_timeout: Annotated[float, Meta(gt=0)] = 2.0
    time_digits: Annotated[int, Meta(ge=0, le=9, multiple_of=3)] = 3

    @property
    def session_id(self) -> str:
        """``FIX.4.4:ISLD->TW44``, also the stem of the store's file names."""
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"
