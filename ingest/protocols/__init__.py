"""Protocol plugins, registered in ``PROTOCOLS`` (``pipelines.registry``):

- ``fix``: FIX tag=value 4.2/4.4/5.0SP2 market data and reference data (``ingest.protocols.fix``);
- ``cme_mdp3``: CME MDP 3.0 over SBE, schema-driven (``ingest.protocols.cme_mdp3``, on
  ``ingest.protocols.sbe``);
- ``json`` and ``csv``: venue mappings (``ingest.protocols.mapped``; files in ``ingest/mappings``).

The subpackages are imported on first use, not with this package: ``PROTOCOLS.get("fix")`` imports
only the FIX decoder, which keeps a replay's start-up short (``ingest.protocols.cme_mdp3`` alone is
~30 ms of imports). ``ingest.protocols.fix`` etc. still work as attributes of this package.

Third-party protocols register through the ``tickerplant.protocols`` entry-point group.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ingest.protocols.base import DecodeError, Decoder, Encoder, Sequencer

__all__ = ["DecodeError", "Decoder", "Encoder", "Sequencer", "cme_mdp3", "fix", "mapped"]

_SUBPACKAGES = frozenset({"cme_mdp3", "fix", "mapped", "sbe"})


def __getattr__(name: str) -> ModuleType:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
