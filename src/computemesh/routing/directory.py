"""Peer ids back from lowercased URL hosts, and where to dial a peer.

httpx lowercases the host of ``libp2p://<peer id>/…`` while base58 peer ids are
case-sensitive; the directory maps the lowercased form to a peer this node knows.
"""

from computemesh.ids import PeerId
from computemesh.registry.sync import TableSync


class PeerDirectory:
    def __init__(self, sync: TableSync) -> None:
        self._sync = sync
        self._by_lowered: dict[str, PeerId] = {}

    def known(self) -> list[PeerId]:
        table = [claims.peer_id for claims in self._sync.table.live()]
        return [*table, *self._sync.host.known_peers()]

    def resolve(self, host: str) -> PeerId | None:
        found = self._by_lowered.get(host)
        if found is None:
            self._by_lowered = {peer.lower(): peer for peer in self.known()}
            found = self._by_lowered.get(host)
        return found

    def knows(self, peer: PeerId) -> bool:
        return self.resolve(peer.lower()) == peer

    def addresses(self, peer: PeerId) -> list[str]:
        claims = self._sync.table.get(peer)
        return list(claims.addresses) if claims else []
