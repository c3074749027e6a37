"""What is limited (descriptors), what the limiter decides, and the headers that say so.

The window is a sliding minute kept as a log of admissions, so no 60-second span
ever holds more admitted requests than the limit (a fixed window lets twice the
limit through around its reset). Tokens are known only after the answer: a request
is admitted while its descriptor has spent fewer tokens than its limit, and its
tokens are added when it ends, so a budget is overshot by at most the requests
already in flight when it ran out.
"""

import math
from dataclasses import dataclass
from typing import Protocol

WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Limit:
    """One thing to count against: ``key:<id>`` or ``ip:<address>``. 0 means unlimited."""

    name: str
    requests: int
    tokens: int

    @property
    def active(self) -> bool:
        return self.requests > 0 or self.tokens > 0


@dataclass(frozen=True, slots=True)
class Usage:
    """One descriptor's state after a decision."""

    limit: Limit
    requests: int  # admitted in the window, this request included if it was admitted
    tokens: int
    reset_s: float  # until the oldest request in the window leaves it


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float
    usages: tuple[Usage, ...]

    def headers(self) -> dict[str, str]:
        """OpenAI-style ``x-ratelimit-*`` for the tightest descriptor (plus Retry-After on 429)."""
        headers: dict[str, str] = {}
        counted = [u for u in self.usages if u.limit.requests > 0]
        if counted:
            tight = min(counted, key=lambda u: u.limit.requests - u.requests)
            headers["x-ratelimit-limit-requests"] = str(tight.limit.requests)
            headers["x-ratelimit-remaining-requests"] = str(
                max(0, tight.limit.requests - tight.requests)
            )
            headers["x-ratelimit-reset-requests"] = f"{tight.reset_s:.3f}s"
        budgeted = [u for u in self.usages if u.limit.tokens > 0]
        if budgeted:
            tight = min(budgeted, key=lambda u: u.limit.tokens - u.tokens)
            headers["x-ratelimit-limit-tokens"] = str(tight.limit.tokens)
            headers["x-ratelimit-remaining-tokens"] = str(max(0, tight.limit.tokens - tight.tokens))
        if not self.allowed:
            headers["retry-after"] = str(max(1, math.ceil(self.retry_after)))
        return headers


class RateLimiter(Protocol):
    async def acquire(self, limits: list[Limit], request_id: str) -> Decision:
        """Admit the request under every limit at once, or under none."""
        ...

    async def add_tokens(self, limits: list[Limit], request_id: str, tokens: int) -> None:
        """Charge a finished request's tokens."""
        ...

    async def aclose(self) -> None: ...
