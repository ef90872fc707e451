"""Ingest: sources (simulator, network feeds), protocol decoders and venue mappings.

Imports only :mod:`pipelines.events`, :mod:`pipelines.spec` and :mod:`pipelines.registry`
from the rest of the product; never Django.
"""

__all__: list[str] = []

from pipelines import accel as _accel

_accel.install()  # see pipelines/__init__.py
