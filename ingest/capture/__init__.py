"""Readers of recorded captures (pcap/pcapng of UDP feeds, ...), used by replay and tests."""

from ingest.capture.pcap import CaptureError, PcapReader, UdpDatagram, is_pcap, read_udp

__all__ = ["CaptureError", "PcapReader", "UdpDatagram", "is_pcap", "read_udp"]
