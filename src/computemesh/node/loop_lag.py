"""How late the node's event loop wakes up, reported with the table counters.

Everything a node does shares one trio loop, so a stall there (a long synchronous
step, or a process starved of CPU) delays every gossip message, exchange and request
at once. ``GET /v1/dnt/stats`` shows the worst lag seen and how many stalls passed 1 s.
"""

from collections import Counter

import anyio

TICK_S = 0.25
STALL_MS = 1000


async def watch_loop_lag(counts: Counter[str]) -> None:
    while True:
        started = anyio.current_time()
        await anyio.sleep(TICK_S)
        lag_ms = int((anyio.current_time() - started - TICK_S) * 1000)
        counts["loop_lag_last_ms"] = lag_ms
        counts["loop_lag_max_ms"] = max(counts["loop_lag_max_ms"], lag_ms)
        if lag_ms >= STALL_MS:
            counts["loop_stalls_over_1s"] += 1
