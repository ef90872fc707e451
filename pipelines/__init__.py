"""Tickerplant's data plane: events, specs, bus, core, storage, delivery and the worker runtime.

Never imports Django.
"""

from pipelines import accel as _accel

# Before any hot-path module is imported: under TICKERPLANT_PURE_PYTHON the one-source modules
# must come from their .py, not from their built extensions.
_accel.install()
