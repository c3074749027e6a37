"""Label values a caller cannot choose: services and models the node table lists, and
how a provider is reached.

A request names its service in the path and its model in the body; counted as they
are, every made-up name would be a new time series. Only what a live record of the
table offers keeps its name; anything else is ``other``.
"""

import time
from collections.abc import Callable

from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost
from computemesh.registry.providers import ProviderIndex
from computemesh.routing.catalog import MODEL_KEY

OTHER = "other"
NONE = "none"
KINDS_FRESH_S = 2.0


def service_label(providers: ProviderIndex, service: str) -> str:
    return service if providers.offers(service) else OTHER


def model_label(providers: ProviderIndex, service: str, model: str | None) -> str:
    if model is None:
        return NONE
    return model if providers.offers(service, f"{MODEL_KEY}={model}") else OTHER


class ConnectionKinds:
    """``peer -> direct | relayed`` from the host's connections, re-read every 2 s at most."""

    def __init__(self, host: MeshHost, clock: Callable[[], float] = time.monotonic) -> None:
        self._host = host
        self._clock = clock
        self._kinds: dict[PeerId, str] = {}
        self._read_at = -KINDS_FRESH_S

    def of(self, peer: PeerId) -> str:
        now = self._clock()
        if now - self._read_at >= KINDS_FRESH_S:
            self._kinds, self._read_at = self.read(), now
        return self._kinds.get(peer, "direct")

    def read(self) -> dict[PeerId, str]:
        host = self._host
        return {peer: host.connection_kind(peer) or "direct" for peer in host.connected_peers()}
