"""The one way to run a side effect (publish a spec, enqueue a task) after the commit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import transaction

__all__ = ["after_commit"]


def after_commit(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``func(*args, **kwargs)`` once the current transaction commits (now if none is open).

    Nothing runs when the transaction rolls back, so a failed write never publishes.
    """
    transaction.on_commit(functools.partial(func, *args, **kwargs))
