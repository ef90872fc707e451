"""CME MDP 3.0 market data on the generic SBE codec: framing, A/B arbitration, RptSeq gap
detection and normalization into platform events. Importing this package registers the
``cme_mdp3`` protocol plugin.
"""

from ingest.protocols.cme_mdp3.decoder import CmeMdp3Decoder, CmeMdp3Params
from ingest.protocols.cme_mdp3.framing import PacketHeader, split_packet
from ingest.protocols.cme_mdp3.normalize import Normalizer, price_decimals
from ingest.protocols.cme_mdp3.sequencing import DUPLICATE, PacketArbiter, RptSeqTracker

__all__ = [
    "DUPLICATE",
    "CmeMdp3Decoder",
    "CmeMdp3Params",
    "Normalizer",
    "PacketArbiter",
    "PacketHeader",
    "RptSeqTracker",
    "price_decimals",
    "split_packet",
]
