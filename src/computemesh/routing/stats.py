"""What this node has learned about providers from its own requests to them.

In flight and a latency EWMA (time to the response head) feed the routing choice;
failures put a provider in a cool-down that doubles while it keeps failing.
"""

from collections import Counter
from dataclasses import dataclass, field

from computemesh.ids import PeerId

LATENCY_EWMA_WEIGHT = 0.2


@dataclass
class ProviderStats:
    cooldown_initial: float = 2.0
    cooldown_max: float = 60.0
    inflight: Counter[PeerId] = field(default_factory=Counter)
    latency_s: dict[PeerId, float] = field(default_factory=dict)
    _failures: Counter[PeerId] = field(default_factory=Counter)
    _cool_until: dict[PeerId, float] = field(default_factory=dict)

    def begin(self, peer: PeerId) -> None:
        self.inflight[peer] += 1

    def end(self, peer: PeerId) -> None:
        self.inflight[peer] -= 1
        if self.inflight[peer] <= 0:
            del self.inflight[peer]

    def answered(self, peer: PeerId, seconds: float) -> None:
        """A response head arrived after ``seconds``: fold it into the EWMA."""
        previous = self.latency_s.get(peer)
        self.latency_s[peer] = (
            seconds if previous is None else previous + LATENCY_EWMA_WEIGHT * (seconds - previous)
        )
        self._failures.pop(peer, None)
        self._cool_until.pop(peer, None)

    def failed(self, peer: PeerId, now: float) -> None:
        self._failures[peer] += 1
        delay = self.cooldown_initial * 2 ** (self._failures[peer] - 1)
        self._cool_until[peer] = now + min(delay, self.cooldown_max)

    def cooling(self, peer: PeerId, now: float) -> bool:
        return self._cool_until.get(peer, 0.0) > now
