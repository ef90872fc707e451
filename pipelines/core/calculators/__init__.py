"""Calculator plugins; importing this package registers the built-ins in ``CALCULATORS``.

Series (``input`` = mid or trade price): ``ema``, ``ema_time``, ``sma``, ``zscore``,
``realized_vol``, ``ols`` (three outputs). Trades with size: ``vwap``. The book's top levels:
``mid``, ``microprice``, ``spread``, ``imbalance``. See docs/calculators.md.
"""

from pipelines.core.calculators import ema, ols, sma, top_of_book, volatility, vwap, zscore
from pipelines.core.calculators.base import Calculator, CalculatorInput, Feed
from pipelines.core.calculators.ema import Ema, EmaParams, EmaTime, EmaTimeParams
from pipelines.core.calculators.ols import Ols, OlsParams
from pipelines.core.calculators.sma import Sma, SmaParams
from pipelines.core.calculators.top_of_book import (
    BookCalculator,
    Imbalance,
    ImbalanceParams,
    Microprice,
    MicropriceParams,
    Mid,
    MidParams,
    Spread,
    SpreadParams,
)
from pipelines.core.calculators.volatility import RealizedVol, RealizedVolParams
from pipelines.core.calculators.vwap import Vwap, VwapParams
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.core.calculators.zscore import ZScore, ZScoreParams

__all__ = [
    "BookCalculator",
    "Calculator",
    "CalculatorInput",
    "Ema",
    "EmaParams",
    "EmaTime",
    "EmaTimeParams",
    "Feed",
    "Imbalance",
    "ImbalanceParams",
    "Microprice",
    "MicropriceParams",
    "Mid",
    "MidParams",
    "Ols",
    "OlsParams",
    "RealizedVol",
    "RealizedVolParams",
    "Rolling",
    "Sma",
    "SmaParams",
    "Spread",
    "SpreadParams",
    "Vwap",
    "VwapParams",
    "WindowParams",
    "ZScore",
    "ZScoreParams",
    "ema",
    "ols",
    "sma",
    "top_of_book",
    "volatility",
    "vwap",
    "zscore",
]
