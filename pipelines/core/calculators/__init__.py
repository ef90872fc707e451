"""Calculator plugins; importing this package registers the built-ins in ``CALCULATORS``."""

from pipelines.core.calculators import ema
from pipelines.core.calculators.base import Calculator, CalculatorInput
from pipelines.core.calculators.ema import Ema, EmaParams

__all__ = ["Calculator", "CalculatorInput", "Ema", "EmaParams", "ema"]
