"""How fast this machine runs Python, printed beside a bench's figures.

The development VMs differ a lot per core (one session's VM forwarded a request with
2.2 times the CPU of another's, running the same code), and some goals are absolute
(milliseconds, requests per second per core). A fixed pure-Python loop timed in the
same run says which kind of machine the figures came from.
"""

import time

LOOP = 1_000_000


def _loop() -> int:
    total = 0
    for i in range(LOOP):
        total += i & 7
    return total


def python_speed_ms(repeats: int = 3) -> float:
    """Milliseconds for the reference loop, best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        _loop()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def python_speed_line() -> str:
    return f"machine: the reference loop (1M additions in Python) took {python_speed_ms():.0f} ms"
