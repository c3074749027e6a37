"""What this node has learned about providers from its own requests to them.

In flight and a latency EWMA (time to the response head) feed the routing choice;
failures put a provider in a cool-down that doubles while it keeps failing (the last
failure's reason is kept for ``/v1/dnt/explain``). A
provider this node has sent nothing to for ``forget_after`` seconds (one that left
the table, typically) is forgotten: its numbers would otherwise stay forever, and
skew the median latency that unmeasured providers are given.
"""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from computemesh.ids import PeerId

LATENCY_EWMA_WEIGHT = 0.2
# Idle providers are looked for at most this often (a fraction of forget_after).
SWEEPS_PER_FORGET_AFTER = 10


@dataclass(frozen=True)
class Cooldown:
    """A provider skipped until ``until`` (this clock), after ``failures`` failures in a row."""

    until: float
    failures: int
    reason: str


@dataclass
class ProviderStats:
    cooldown_initial: float = 2.0
    cooldown_max: float = 60.0
    forget_after: float = 600.0
    clock: Callable[[], float] = time.monotonic
    inflight: Counter[PeerId] = field(default_factory=Counter)
    latency_s: dict[PeerId, float] = field(default_factory=dict)
    _failures: Counter[PeerId] = field(default_factory=Counter)
    _cool_until: dict[PeerId, float] = field(default_factory=dict)
    _failed_why: dict[PeerId, str] = field(default_factory=dict)
    _used_at: dict[PeerId, float] = field(default_factory=dict)
    _swept_at: float = 0.0

    def begin(self, peer: PeerId) -> None:
        self._used(peer)
        self.inflight[peer] += 1

    def end(self, peer: PeerId) -> None:
        self.inflight[peer] -= 1
        if self.inflight[peer] <= 0:
            del self.inflight[peer]

    def answered(self, peer: PeerId, seconds: float) -> None:
        """A response head arrived after ``seconds``: fold it into the EWMA."""
        self._used(peer)
        previous = self.latency_s.get(peer)
        self.latency_s[peer] = (
            seconds if previous is None else previous + LATENCY_EWMA_WEIGHT * (seconds - previous)
        )
        self._failures.pop(peer, None)
        self._cool_until.pop(peer, None)
        self._failed_why.pop(peer, None)

    def failed(self, peer: PeerId, now: float, why: str = "") -> None:
        self._used(peer)
        self._failures[peer] += 1
        self._failed_why[peer] = why
        delay = self.cooldown_initial * 2 ** (self._failures[peer] - 1)
        self._cool_until[peer] = now + min(delay, self.cooldown_max)

    def cooling(self, peer: PeerId, now: float) -> bool:
        return self._cool_until.get(peer, 0.0) > now

    def cooldown(self, peer: PeerId, now: float) -> Cooldown | None:
        """The cool-down ``peer`` is in at ``now``, if any."""
        if not self.cooling(peer, now):
            return None
        why = self._failed_why.get(peer, "")
        return Cooldown(self._cool_until[peer], self._failures[peer], why)

    def cooling_count(self, now: float) -> int:
        """Providers in a cool-down at ``now``."""
        return sum(1 for until in self._cool_until.values() if until > now)

    def forget(self, peer: PeerId) -> None:
        """Drop everything learned about ``peer`` (requests in flight excepted)."""
        self.latency_s.pop(peer, None)
        self._failures.pop(peer, None)
        self._cool_until.pop(peer, None)
        self._failed_why.pop(peer, None)
        self._used_at.pop(peer, None)

    def _used(self, peer: PeerId) -> None:
        now = self.clock()
        self._used_at[peer] = now
        if now - self._swept_at >= self.forget_after / SWEEPS_PER_FORGET_AFTER:
            self._swept_at = now
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        idle = [
            peer
            for peer, used in self._used_at.items()
            if now - used >= self.forget_after
            and peer not in self.inflight
            and not self.cooling(peer, now)
        ]
        for peer in idle:
            self.forget(peer)
