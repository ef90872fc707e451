"""CME MDP 3.0 decode throughput on the real v8/v9 captures (not a test).

Three ways through the same packets (every UDP payload of ``shared/data/sbe/cme-mdp3/v*_samples``,
A/B copies de-duplicated once up front), repeated in a loop, SBE messages/s and ratios, one run:

- ``cme_mdp3``: :class:`ingest.protocols.cme_mdp3.CmeMdp3Decoder` (framing, arbitration, SBE
  decode to dicts, RptSeq checks, level shadow, events with seq) — what the pipeline runs;
- ``sbe dicts``: framing + :meth:`SbeCodec.decode` only (values as dicts, no events);
- ``hand struct``: a hand-written ``struct.unpack_from`` walk of the same templates into tuples,
  no names, no enums, no nulls: the upper bound for pure Python.

    .venv/bin/python -m bench.bench_sbe [--passes 300]
"""

from __future__ import annotations

import argparse
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

from ingest.capture import read_udp
from ingest.protocols.cme_mdp3 import CmeMdp3Decoder, CmeMdp3Params, PacketArbiter, split_packet
from ingest.protocols.sbe import SbeCodec, load_schema

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    base = Path(os.environ.get("TICKERPLANT_SAMPLE_DATA", REPO.parent / "shared" / "data"))
    return base / "sbe" / "cme-mdp3"


def packets(root: Path) -> list[bytes]:
    seen: set[tuple[str, int]] = set()
    out: list[bytes] = []
    for path in sorted(root.glob("v*_samples/*.pcap")):
        for datagram in read_udp(path):
            key = (path.name, struct.unpack_from("<I", datagram.payload)[0])
            if key not in seen:  # keep feed A's copy only: every pass decodes each packet once
                seen.add(key)
                out.append(datagram.payload)
    return out


_HEADER = struct.Struct("<HHHH")
_ROOT = struct.Struct("<QB")  # TransactTime, MatchEventIndicator: 11 bytes in every incremental
_GROUP = struct.Struct("<HB")
_GROUP8 = struct.Struct("<H5xB")
_ENTRIES = {
    32: struct.Struct("<qiiIiBBc"),
    46: struct.Struct("<qiiIiBBc"),
    42: struct.Struct("<qiiIiBBI"),
    48: struct.Struct("<qiiIiBBI"),
    37: struct.Struct("<iiIB"),
    35: struct.Struct("<qiIBBci"),
    47: struct.Struct("<QQqiiBc"),
}
_ORDER_ENTRIES = {
    32: struct.Struct("<QQiBB"),
    46: struct.Struct("<QQiBB"),
    42: struct.Struct("<Qi"),
    48: struct.Struct("<Qi"),
}
_STATUS = struct.Struct("<Q6s6siHBBBB")


def hand_decode(packet: bytes) -> int:
    """Messages decoded in ``packet`` by fixed structs (the peer: no schema, no dicts)."""
    pos, end, count = 12, len(packet), 0
    while pos < end:
        size = struct.unpack_from("<H", packet, pos)[0]
        block_length, template, _schema, _version = _HEADER.unpack_from(packet, pos + 2)
        body = pos + 10
        if template == 30:
            _STATUS.unpack_from(packet, body)
        else:
            _ROOT.unpack_from(packet, body)
            at = body + block_length
            entry_length, n = _GROUP.unpack_from(packet, at)
            at += 3
            entry = _ENTRIES[template]
            for i in range(n):
                entry.unpack_from(packet, at + i * entry_length)
            at += n * entry_length
            orders = _ORDER_ENTRIES.get(template)
            if orders is not None:
                entry_length, n = _GROUP8.unpack_from(packet, at)
                at += 8
                for i in range(n):
                    orders.unpack_from(packet, at + i * entry_length)
        count += 1
        pos += size
    return count


def timed(name: str, run: Callable[[], int], passes: int) -> tuple[str, float]:
    run()  # warm-up: compile readers, fill caches
    start = time.perf_counter()
    messages = 0
    for _ in range(passes):
        messages += run()
    elapsed = time.perf_counter() - start
    rate = messages / elapsed
    print(f"{name:12s} {messages:9d} messages in {elapsed:6.3f} s = {rate:12,.0f} messages/s")
    return name, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=300)
    args = parser.parse_args()
    root = data_dir()
    payloads = packets(root)
    schema = str(root / "templates_FixBinary_v9.xml")
    codec = SbeCodec(load_schema(schema))
    decoder = CmeMdp3Decoder("bench", CmeMdp3Params(schema=schema))
    per_pass = sum(hand_decode(p) for p in payloads)
    print(f"{len(payloads)} packets, {per_pass} SBE messages per pass, {args.passes} passes")

    def full() -> int:
        # Each pass replays the same packets: start the sequence state over so nothing is stale.
        decoder.arbiter = PacketArbiter()
        decoder.normalizer.rpt_seq.clear()
        for payload in payloads:
            decoder.decode(payload, 0)
        return per_pass

    def dicts() -> int:
        count = 0
        for payload in payloads:
            for start, end in split_packet(payload)[1]:
                codec.decode(payload, start, end)
                count += 1
        return count

    def hand() -> int:
        return sum(hand_decode(p) for p in payloads)

    results = dict(
        timed(name, run, args.passes)
        for name, run in (("cme_mdp3", full), ("sbe dicts", dicts), ("hand struct", hand))
    )
    peak = results["hand struct"]
    for name, rate in results.items():
        print(f"{name:12s} {rate / peak:6.2f} x hand struct")


if __name__ == "__main__":
    main()
