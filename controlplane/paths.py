"""Where runtime state lives: ``var/`` under the checkout, or ``TICKERPLANT_VAR_DIR``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BASE_DIR", "var_dir"]

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    configured = os.environ.get("TICKERPLANT_VAR_DIR", "").strip()
    return Path(configured).resolve() if configured else BASE_DIR / "var"
