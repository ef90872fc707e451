"""Protocol plugins; importing this package registers the built-ins in ``PROTOCOLS``.

- ``fix``: FIX tag=value 4.2/4.4/5.0SP2 market data and reference data (``ingest.protocols.fix``);
- ``cme_mdp3``: CME MDP 3.0 over SBE, schema-driven (``ingest.protocols.cme_mdp3``, on
  ``ingest.protocols.sbe``);
- ``json`` and ``csv``: venue mappings (``ingest.protocols.mapped``; files in ``ingest/mappings``).

Third-party protocols register through the ``tickerplant.protocols`` entry-point group.
"""

from ingest.protocols import cme_mdp3, fix, mapped
from ingest.protocols.base import DecodeError, Decoder, Encoder, Sequencer

__all__ = ["DecodeError", "Decoder", "Encoder", "Sequencer", "cme_mdp3", "fix", "mapped"]
