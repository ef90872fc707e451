"""mid, microprice, spread and imbalance read from a live Book equal numpy on its top levels."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.core.book import Book
from pipelines.core.calculators import (
    Imbalance,
    ImbalanceParams,
    Microprice,
    MicropriceParams,
    Mid,
    MidParams,
    Spread,
    SpreadParams,
)
from pipelines.events import BookDelta


def random_books(count: int, seed: int) -> list[Book]:
    """Books after random level updates around 64000.00 (2 price decimals)."""
    rng = np.random.default_rng(seed)
    book = Book("sim", "BTC-USD", price_decimals=2, size_decimals=4)
    out = []
    for seq in range(1, count + 1):
        side = "bid" if rng.random() < 0.5 else "ask"
        offset = int(rng.integers(1, 40))
        price = 6_400_000 - offset if side == "bid" else 6_400_000 + offset
        size = int(rng.integers(0, 50_000)) if rng.random() < 0.8 else 0
        book.apply(
            BookDelta(
                stream="sim", symbol="BTC-USD", seq=seq, side=side, price=price, size=size,
                action="change" if size else "delete", batch_end=True,
            )
        )  # fmt: skip
        if book.bids.keys and book.asks.keys:
            copy = Book("sim", "BTC-USD", 2, 4)
            for price_, size_ in book.bids.top(1000):
                copy.bids.set(price_, size_)
            for price_, size_ in book.asks.top(1000):
                copy.asks.set(price_, size_)
            out.append(copy)
    return out


BOOKS = random_books(600, seed=31)


def top(book: Book, levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bids, asks = book.top(levels)
    bid = np.array(bids, dtype=float)
    ask = np.array(asks, dtype=float)
    return bid[:, 0] / 100, bid[:, 1], ask[:, 0] / 100, ask[:, 1]


def test_mid_microprice_and_spread() -> None:
    mid, micro = Mid(MidParams()), Microprice(MicropriceParams())
    absolute, bps = Spread(SpreadParams()), Spread(SpreadParams(unit="bps"))
    for book in BOOKS:
        bid, bid_size, ask, ask_size = (a[0] for a in top(book, 1))
        assert mid.update_book(book) == pytest.approx((bid + ask) / 2, rel=1e-15)
        assert micro.update_book(book) == pytest.approx(
            (bid * ask_size + ask * bid_size) / (bid_size + ask_size), rel=1e-14
        )
        # Ours subtracts the integer prices, then scales: exact where float ask - bid is not.
        assert absolute.update_book(book) == pytest.approx(ask - bid, rel=1e-9)
        assert bps.update_book(book) == pytest.approx(1e4 * (ask - bid) / ((bid + ask) / 2))


@pytest.mark.parametrize("levels", [1, 3, 10, 500])
def test_imbalance_over_the_top_levels(levels: int) -> None:
    imbalance = Imbalance(ImbalanceParams(levels=levels))
    for book in BOOKS:
        _, bid_sizes, _, ask_sizes = top(book, levels)
        b, a = bid_sizes.sum(), ask_sizes.sum()
        assert imbalance.update_book(book) == pytest.approx((b - a) / (b + a), rel=1e-12)


def test_an_empty_side_gives_no_value() -> None:
    book = Book(price_decimals=2)
    book.bids.set(100, 5)
    for calc in (
        Mid(MidParams()), Microprice(MicropriceParams()), Spread(SpreadParams()),
        Imbalance(ImbalanceParams(levels=5)),
    ):  # fmt: skip
        assert calc.update_book(book) is None
        assert [feed for feed, _ in calc.feeds()] == ["book"]
