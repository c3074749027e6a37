"""The in-process limiter: exact for one gateway process, the default."""

import time
from collections import deque
from dataclasses import dataclass, field

from computemesh.gateway.ratelimit.limits import WINDOW_S, Decision, Limit, Usage

SWEEP_EVERY = 1000


@dataclass(slots=True)
class _Window:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    token_sum: int = 0

    def expire(self, now: float) -> None:
        cutoff = now - WINDOW_S
        while self.requests and self.requests[0] <= cutoff:
            self.requests.popleft()
        while self.tokens and self.tokens[0][0] <= cutoff:
            self.token_sum -= self.tokens.popleft()[1]

    def retry_after(self, limit: Limit, now: float) -> float:
        waits = [0.0]
        if limit.requests > 0 and len(self.requests) >= limit.requests:
            waits.append(self.requests[len(self.requests) - limit.requests] + WINDOW_S - now)
        if limit.tokens > 0 and self.token_sum >= limit.tokens:
            spent = self.token_sum
            for stamp, amount in self.tokens:
                spent -= amount
                if spent < limit.tokens:
                    waits.append(stamp + WINDOW_S - now)
                    break
        return max(waits)


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._calls = 0

    async def acquire(self, limits: list[Limit], request_id: str) -> Decision:
        now = time.monotonic()
        windows = [self._window(limit.name, now) for limit in limits]
        pairs = list(zip(windows, limits, strict=True))
        retry = max((window.retry_after(limit, now) for window, limit in pairs), default=0.0)
        allowed = retry <= 0
        if allowed:
            for window in windows:
                window.requests.append(now)
        usages = tuple(
            Usage(limit, len(window.requests), window.token_sum, _reset(window, now))
            for window, limit in pairs
        )
        self._forget_idle(now)
        return Decision(allowed=allowed, retry_after=retry, usages=usages)

    async def add_tokens(self, limits: list[Limit], request_id: str, tokens: int) -> None:
        if tokens <= 0:
            return
        now = time.monotonic()
        for limit in limits:
            window = self._window(limit.name, now)
            window.tokens.append((now, tokens))
            window.token_sum += tokens

    async def aclose(self) -> None:
        self._windows.clear()

    def _window(self, name: str, now: float) -> _Window:
        window = self._windows.setdefault(name, _Window())
        window.expire(now)
        return window

    def _forget_idle(self, now: float) -> None:
        """Drop empty windows now and then, so memory follows the last minute's callers."""
        self._calls += 1
        if self._calls % SWEEP_EVERY:
            return
        for name, window in list(self._windows.items()):
            window.expire(now)
            if not window.requests and not window.tokens:
                del self._windows[name]


def _reset(window: _Window, now: float) -> float:
    return max(0.0, window.requests[0] + WINDOW_S - now) if window.requests else 0.0
