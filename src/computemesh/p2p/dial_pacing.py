"""A bound on how fast this node starts outbound connection attempts.

Every attempt takes a slot: dials to table members and bootstraps, py-libp2p's own
dials and its retries. ``burst`` slots are free at once, then one frees every
``1 / rate`` seconds: a token bucket, kept as the time the next slot frees (GCRA).
Whatever a crowd of records claims, this node dials no faster than that.
"""

import math

import trio


class DialPacer:
    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"dial rate {rate} and burst {burst} must be positive")
        self._interval = 1.0 / rate
        self._burst = burst
        self._next = -math.inf
        self.granted = 0

    async def slot(self) -> None:
        """Return when this attempt may start (at once while the burst lasts)."""
        now = trio.current_time()
        start = max(self._next, now - (self._burst - 1) * self._interval)
        # Reserved before sleeping: attempts queue in order, and one cancelled
        # while waiting still counts, so the bound holds whatever callers do.
        self._next = start + self._interval
        self.granted += 1
        await trio.sleep_until(start)
