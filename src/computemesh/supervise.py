"""Background loops that never end the process they run in.

A node runs its loops (table sync, probes, bootstraps, load reports) in one task group,
where an exception escaping any of them cancels all the others and ends the node. A
supervised loop that raises is logged and started again after a pause instead; the
pause doubles while the loop keeps failing at once (up to ``MAX_PAUSE_S``), so a
loop broken for good costs a line every half minute, not a busy spin.

Cancellation is a ``BaseException`` on every anyio backend, so it passes through and
a stopping node still stops.
"""

import logging
from collections.abc import Awaitable, Callable

import anyio

log = logging.getLogger(__name__)
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
HEALTHY_RUN_S = 60.0
"""A loop that ran this long before failing starts again after the first pause."""


async def supervise(
    name: str,
    run: Callable[[], Awaitable[object]],
    *,
    first_pause: float = FIRST_PAUSE_S,
    max_pause: float = MAX_PAUSE_S,
) -> None:
    """Run ``run`` until it returns; each time it raises, log it and run it again."""
    pause = first_pause
    while True:
        started = anyio.current_time()
        try:
            await run()
            return
        except Exception:
            if anyio.current_time() - started >= HEALTHY_RUN_S:
                pause = first_pause
            log.exception("background task %s failed; restarting it in %.0f s", name, pause)
        await anyio.sleep(pause)
        pause = min(pause * 2, max_pause)


async def contain(name: str, run: Callable[[], Awaitable[object]]) -> None:
    """Run a one-off task whose failure is logged and ends only that task."""
    try:
        await run()
    except Exception:
        log.exception("background task %s failed", name)
