"""The loop-lag watch counts a stall of the node's event loop."""

import time
from collections import Counter

import trio

from computemesh.node.loop_lag import STALL_MS, TICK_S, watch_loop_lag


async def test_a_blocked_loop_is_counted_as_a_stall() -> None:
    counts: Counter[str] = Counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_loop_lag, counts)
        await trio.sleep(0.3)
        assert counts["loop_stalls_over_1s"] == 0
        # Held longer than a stall plus one tick: the watch may have just started a tick.
        _hold_the_loop(STALL_MS / 1000 + TICK_S + 0.2)
        await trio.sleep(0.3)
        nursery.cancel_scope.cancel()
    assert counts["loop_stalls_over_1s"] == 1
    assert counts["loop_lag_max_ms"] >= STALL_MS


def _hold_the_loop(seconds: float) -> None:
    """A synchronous step, as a long computation would be: nothing else runs meanwhile."""
    time.sleep(seconds)
