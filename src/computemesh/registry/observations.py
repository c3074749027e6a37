"""What this node has observed about its peers, kept apart from their signed claims.

Connected, last seen and latency are local facts: another node may see the same
peer differently, so they are never gossiped or signed.
"""

from dataclasses import dataclass

from computemesh.ids import PeerId

LATENCY_EWMA_WEIGHT = 0.3


@dataclass
class Observation:
    connected: bool = False
    last_seen: float = 0.0
    disconnected_at: float = 0.0
    latency_ms: float | None = None
    record_received: float = 0.0


class Observations:
    """Mutable per-peer observations, updated by the sync loop's effects."""

    def __init__(self) -> None:
        self._peers: dict[PeerId, Observation] = {}

    def get(self, peer: PeerId) -> Observation:
        return self._peers.get(peer) or Observation()

    def received(self, peer: PeerId, now: float) -> None:
        """A new version of the peer's record arrived (the age of our information)."""
        self._entry(peer).record_received = now

    def seen(self, peer: PeerId, when: float) -> None:
        entry = self._entry(peer)
        entry.last_seen = max(entry.last_seen, when)

    def connection(self, peer: PeerId, connected: bool, now: float) -> None:
        entry = self._entry(peer)
        entry.connected = connected
        if connected:
            entry.last_seen = now
        else:
            entry.disconnected_at = now

    def latency(self, peer: PeerId, rtt_ms: float, now: float) -> None:
        entry = self._entry(peer)
        previous = entry.latency_ms
        entry.latency_ms = (
            rtt_ms if previous is None else previous + LATENCY_EWMA_WEIGHT * (rtt_ms - previous)
        )
        entry.last_seen = now

    def forget(self, peer: PeerId) -> None:
        self._peers.pop(peer, None)

    def retain(self, peers: set[PeerId]) -> None:
        """Forget every peer outside ``peers``: a peer that connected once and left
        (or whose tombstone came before its last disconnect) is not kept forever."""
        self._peers = {peer: seen for peer, seen in self._peers.items() if peer in peers}

    def _entry(self, peer: PeerId) -> Observation:
        return self._peers.setdefault(peer, Observation())


def is_online(observation: Observation, now: float, window: float) -> bool:
    """Seen within ``window`` seconds (LocalAI's 40 s rule), and not seen to drop since.

    A connection that closed after we last heard from the peer means it is gone
    (a SIGKILLed process closes its sockets at once), until it is heard from again.
    """
    if observation.connected:
        return True
    if observation.disconnected_at >= observation.last_seen:
        return False
    return now - observation.last_seen <= window
