"""Code tables shared by the normalizer and the encoder (one place, two directions)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "BOOK_ACTIONS",
    "INSTRUMENT_TAGS",
    "SIZE_STATISTICS",
    "STATISTIC_NAMES",
    "STATISTIC_TYPES",
    "TRADING_STATES",
    "TRADING_STATUS_CODES",
]

# MDUpdateAction (279) → BookDelta.action. DeleteThru (3) and DeleteFrom (4) delete a range of
# levels; they become a delete at the entry's level (the book layer owns range semantics).
BOOK_ACTIONS: Final = {
    "0": "new",
    "1": "change",
    "2": "delete",
    "3": "delete",
    "4": "delete",
    "5": "change",
}

# MDEntryType (269) statistics → Statistic.name. Bid/offer (0, 1), implied bid/offer (E, F by
# CME's convention, which MDP3 and its FIX feeds use), trade (2) and empty book (J) are not here.
STATISTIC_NAMES: Final = {
    "3": "index_value",
    "4": "open",
    "5": "close",
    "6": "settlement",
    "7": "high",
    "8": "low",
    "9": "vwap",
    "A": "imbalance",
    "B": "volume",
    "C": "open_interest",
    "D": "composite_underlying",
    "G": "margin_rate",
    "H": "mid",
    "K": "settle_high",
    "L": "settle_low",
    "M": "prior_settlement",
    "N": "session_high_bid",
    "O": "session_low_offer",
    "P": "early_price",
    "Q": "auction_clearing_price",
    "W": "fixing_price",
    "e": "electronic_volume",
    "g": "threshold_limits",
}
STATISTIC_TYPES: Final = {name: code for code, name in STATISTIC_NAMES.items()}

# Statistics whose value is a quantity (MDEntrySize 271) rather than a price (MDEntryPx 270).
SIZE_STATISTICS: Final = frozenset({"A", "B", "C", "e"})

# SecurityTradingStatus (326) → Status.state.
TRADING_STATES: Final = {
    "1": "OPENING_DELAY",
    "2": "HALT",
    "3": "RESUME",
    "4": "NO_OPEN",
    "5": "PRICE_INDICATION",
    "6": "TRADING_RANGE_INDICATION",
    "7": "IMBALANCE_BUY",
    "8": "IMBALANCE_SELL",
    "9": "CLOSE_IMBALANCE_BUY",
    "10": "CLOSE_IMBALANCE_SELL",
    "12": "NO_IMBALANCE",
    "13": "NO_CLOSE_IMBALANCE",
    "14": "ITS_PRE_OPEN",
    "15": "NEW_PRICE_INDICATION",
    "16": "TRADE_DISSEMINATION_TIME",
    "17": "OPEN",
    "18": "NOT_AVAILABLE",
    "19": "NOT_TRADED",
    "20": "UNKNOWN",
    "21": "PRE_OPEN",
    "22": "OPENING_ROTATION",
    "23": "FAST_MARKET",
    "24": "PRE_CROSS",
    "25": "CROSS",
    "26": "POST_CLOSE",
    "27": "NO_CANCEL",
}
TRADING_STATUS_CODES: Final = {state: code for code, state in TRADING_STATES.items()}

# SecurityDefinition tags kept in Instrument.venue_ids, by the key they get there.
INSTRUMENT_TAGS: Final = {
    "symbol": "55",
    "security_id": "48",
    "security_id_source": "22",
    "security_type": "167",
    "security_group": "1151",
    "asset": "6937",
    "exchange": "207",
    "cfi_code": "461",
    "currency": "15",
    "maturity": "200",
    "display_factor": "9787",
    "unit_of_measure": "996",
}
