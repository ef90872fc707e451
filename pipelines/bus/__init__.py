"""Bus backends; the in-process bus (the shared-memory ring lives in ``pipelines.delivery``)."""

from pipelines.bus.inprocess import Handler, InProcessBus

__all__ = ["Handler", "InProcessBus"]
