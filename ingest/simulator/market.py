"""An order-level market simulator: resting orders, cancels and marketable orders that trade.

Per message (one simulated venue packet) it emits the ``Order`` updates, the ``Trade`` prints and
one ``BookDelta`` per changed price level, ``batch_end`` on the last delta. Everything depends only
on the seed: the exchange clock is simulated (Poisson arrivals at ``rate`` messages per second of
simulated time), and the receive time comes from an injected clock that defaults to the simulated
one, so a seed reproduces the same events byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from ingest.simulator.instruments import SymbolConfig, symbol_config
from pipelines.events import BookDelta, BookSide, Event, Instrument, Order, Trade

__all__ = ["Clock", "MarketSimulator"]

Clock = Callable[[], int]
"""Returns integer nanoseconds."""

_START_NS: Final = 1_700_000_000_000_000_000
_MIN_ORDERS: Final = 40  # keep at least this many resting orders per symbol (a two-sided book)
_MAX_ORDERS: Final = 400  # above this, arrivals turn into cancels (the book stays bounded)
_MAX_DISTANCE: Final = 20  # ticks from the fair price at which passive orders rest


class _Symbol:
    """The simulator's own book of one symbol: level sizes and FIFO order queues."""

    __slots__ = ("config", "fair", "levels", "live", "position", "queues")

    def __init__(self, config: SymbolConfig) -> None:
        self.config = config
        self.fair = config.start_price // config.tick_size  # fair price in ticks
        self.levels: dict[BookSide, dict[int, int]] = {"bid": {}, "ask": {}}
        self.queues: dict[tuple[BookSide, int], list[int]] = {}
        self.live: list[int] = []  # resting order ids, for an O(1) random cancel
        self.position: dict[int, int] = {}  # order id -> index in ``live``

    def remember(self, order_id: int) -> None:
        self.position[order_id] = len(self.live)
        self.live.append(order_id)

    def forget(self, order_id: int) -> None:
        index = self.position.pop(order_id)
        last = self.live.pop()
        if last != order_id:
            self.live[index] = last
            self.position[last] = index


class MarketSimulator:
    """Deterministic for a seed; ``take(n)`` returns whole messages, so batching never changes
    the event stream."""

    def __init__(
        self,
        symbols: Sequence[str | SymbolConfig],
        *,
        seed: int = 1,
        rate: float = 1_000.0,
        stream: str = "sim",
        clock: Clock | None = None,
        start_ns: int = _START_NS,
    ) -> None:
        if not symbols:
            raise ValueError("the simulator needs at least one symbol")
        if rate <= 0:
            raise ValueError("rate must be positive")
        configs = [s if isinstance(s, SymbolConfig) else symbol_config(s) for s in symbols]
        self.stream = stream
        self.rate = rate
        self._rng = random.Random(seed)
        self._symbols = [_Symbol(c) for c in configs]
        self._now = start_ns
        self._clock: Clock = clock if clock is not None else self._simulated_now
        self._seq = 0
        self._message = 0
        self._next_order = 0
        self._next_trade = 0
        self._orders: dict[int, list[int]] = {}  # order id -> [size]; side/price in _meta
        self._meta: dict[int, tuple[_Symbol, BookSide, int]] = {}
        self._started = False

    @property
    def symbols(self) -> list[str]:
        return [s.config.symbol for s in self._symbols]

    @property
    def seq(self) -> int:
        """The seq of the last event produced (0 before the first)."""
        return self._seq

    def _simulated_now(self) -> int:
        return self._now

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def instruments(self) -> list[Event]:
        """Reference data, one ``Instrument`` per symbol; emitted first by :meth:`take`."""
        self._started = True
        now = self._clock()
        return [
            Instrument(
                stream=self.stream,
                symbol=s.config.symbol,
                seq=self._next_seq(),
                ts_exchange=self._now,
                ts_recv=now,
                tick_size=s.config.tick_size,
                price_decimals=s.config.price_decimals,
                size_decimals=s.config.size_decimals,
                description=f"simulated {s.config.symbol}",
            )
            for s in self._symbols
        ]

    def take(self, count: int) -> list[Event]:
        """At least ``count`` events (whole messages), the instruments first on the first call."""
        out: list[Event] = [] if self._started else self.instruments()
        while len(out) < count:
            out.extend(self.next_message())
        return out

    def next_message(self) -> list[Event]:
        """One simulated venue message: an add, a cancel or a marketable order."""
        rng = self._rng
        self._now += max(1, int(rng.expovariate(self.rate) * 1e9))
        self._message += 1
        sym = rng.choice(self._symbols)
        if rng.random() < 0.2:  # the fair price walks one tick at a time
            sym.fair = max(_MAX_DISTANCE + 1, sym.fair + (1 if rng.random() < 0.5 else -1))
        resting = len(sym.live)
        draw = rng.random()
        if resting < _MIN_ORDERS or (resting < _MAX_ORDERS and draw < 0.55):
            return self._add(sym)
        if resting >= _MAX_ORDERS or draw < 0.9:
            return self._cancel(sym)
        return self._marketable(sym) or self._add(sym)

    def _add(self, sym: _Symbol) -> list[Event]:
        rng = self._rng
        cfg = sym.config
        side: BookSide = "bid" if rng.random() < 0.5 else "ask"
        distance = 1 + min(_MAX_DISTANCE - 1, int(rng.expovariate(0.35)))
        tick = cfg.tick_size
        if side == "bid":
            price = (sym.fair - distance) * tick
            asks = sym.levels["ask"]
            if asks:  # a passive order never crosses the book
                price = min(price, min(asks) - tick)
        else:
            price = (sym.fair + distance) * tick
            bids = sym.levels["bid"]
            if bids:
                price = max(price, max(bids) + tick)
        price = max(price, tick)
        size = cfg.lot * rng.randint(1, cfg.max_lots)
        self._next_order += 1
        order_id = self._next_order
        self._orders[order_id] = [size]
        self._meta[order_id] = (sym, side, price)
        sym.queues.setdefault((side, price), []).append(order_id)
        sym.remember(order_id)
        levels = sym.levels[side]
        before = levels.get(price, 0)
        levels[price] = before + size
        return [
            self._order(sym, order_id, side, price, size, "add"),
            self._delta(sym, side, price, before + size, "change" if before else "new", True),
        ]

    def _cancel(self, sym: _Symbol) -> list[Event]:
        if not sym.live:
            return self._add(sym)
        order_id = sym.live[self._rng.randrange(len(sym.live))]
        _, side, price = self._meta[order_id]
        size = self._orders[order_id][0]
        self._remove(sym, order_id, side, price)
        levels = sym.levels[side]
        remaining = levels[price] - size
        if remaining:
            levels[price] = remaining
        else:
            del levels[price]
        return [
            self._order(sym, order_id, side, price, size, "cancel"),
            self._delta(sym, side, price, remaining, "change" if remaining else "delete", True),
        ]

    def _marketable(self, sym: _Symbol) -> list[Event] | None:
        """An immediate-or-cancel order that trades through the opposite side's queues."""
        rng = self._rng
        buy = rng.random() < 0.5
        resting_side: BookSide = "ask" if buy else "bid"
        levels = sym.levels[resting_side]
        if not levels:
            return None
        remaining = sym.config.lot * rng.randint(1, 2 * sym.config.max_lots)
        out: list[Event] = []
        for price in sorted(levels, reverse=not buy):
            queue = sym.queues[(resting_side, price)]
            filled = 0
            while queue and remaining:
                order_id = queue[0]
                left = self._orders[order_id]
                fill = min(remaining, left[0])
                remaining -= fill
                filled += fill
                left[0] -= fill
                out.append(self._order(sym, order_id, resting_side, price, fill, "execute"))
                out.append(self._trade(sym, price, fill, "buy" if buy else "sell"))
                if not left[0]:
                    self._remove(sym, order_id, resting_side, price)
            level_size = levels[price] - filled
            if level_size:
                levels[price] = level_size
                out.append(self._delta(sym, resting_side, price, level_size, "change", False))
            else:
                del levels[price]
                out.append(self._delta(sym, resting_side, price, 0, "delete", False))
            if not remaining:
                break
        out[-1] = msgspec.structs.replace(out[-1], batch_end=True)
        return out

    def _remove(self, sym: _Symbol, order_id: int, side: BookSide, price: int) -> None:
        queue = sym.queues[(side, price)]
        queue.remove(order_id)
        if not queue:
            del sym.queues[(side, price)]
        sym.forget(order_id)
        del self._orders[order_id]
        del self._meta[order_id]

    def _order(
        self, sym: _Symbol, order_id: int, side: BookSide, price: int, size: int, action: str
    ) -> Order:
        cfg = sym.config
        return Order(
            stream=self.stream,
            symbol=cfg.symbol,
            seq=self._next_seq(),
            venue_seq=self._message,
            ts_exchange=self._now,
            ts_recv=self._clock(),
            order_id=str(order_id),
            side=side,
            price=price,
            size=size,
            action=action,  # type: ignore[arg-type]
            price_decimals=cfg.price_decimals,
            size_decimals=cfg.size_decimals,
        )

    def _trade(self, sym: _Symbol, price: int, size: int, side: str) -> Trade:
        cfg = sym.config
        self._next_trade += 1
        return Trade(
            stream=self.stream,
            symbol=cfg.symbol,
            seq=self._next_seq(),
            venue_seq=self._message,
            ts_exchange=self._now,
            ts_recv=self._clock(),
            price=price,
            size=size,
            price_decimals=cfg.price_decimals,
            size_decimals=cfg.size_decimals,
            side=side,  # type: ignore[arg-type]
            trade_id=str(self._next_trade),
        )

    def _delta(
        self, sym: _Symbol, side: BookSide, price: int, size: int, action: str, batch_end: bool
    ) -> BookDelta:
        cfg = sym.config
        return BookDelta(
            stream=self.stream,
            symbol=cfg.symbol,
            seq=self._next_seq(),
            venue_seq=self._message,
            ts_exchange=self._now,
            ts_recv=self._clock(),
            side=side,
            price=price,
            size=size,
            action=action,  # type: ignore[arg-type]
            batch_end=batch_end,
            price_decimals=cfg.price_decimals,
            size_decimals=cfg.size_decimals,
        )
