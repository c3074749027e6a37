"""What the HTTP edge of a running node can reach; built by the daemon."""

from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from computemesh.config import NodeSettings
from computemesh.node.api.metrics.instruments import NodeMetrics
from computemesh.p2phttp.direct import DirectSender
from computemesh.registry.projects import ProjectStore
from computemesh.registry.service_urls import OwnEndpoints
from computemesh.registry.sync import TableSync
from computemesh.routing.directory import PeerDirectory
from computemesh.routing.dispatcher import Dispatcher
from computemesh.routing.forwarder import Timeouts
from computemesh.routing.load import LoadMeter
from computemesh.routing.usage import UsageMeter


@dataclass(frozen=True)
class HttpClients:
    http: httpx.AsyncClient
    """Calls this node makes for itself (an IPFS node's API)."""
    forwarding: DirectSender
    """Requests relayed for clients, sent as they are."""


@dataclass(frozen=True)
class NodeState:
    sync: TableSync
    online_window: float
    admin_token: SecretStr | None
    http: httpx.AsyncClient
    forwarding: DirectSender
    directory: PeerDirectory
    dispatcher: Dispatcher
    load: LoadMeter
    timeouts: Timeouts
    settings: NodeSettings
    projects: ProjectStore
    usage: UsageMeter = field(default_factory=UsageMeter)
    """Tokens of the answers the OpenAI surface gave this node's clients."""
    metrics: NodeMetrics = field(default_factory=NodeMetrics)
    model_load_seconds: dict[str, float] = field(default_factory=dict)
    """How long each local model took to load (``node.load_times``)."""

    def own_endpoints(self) -> OwnEndpoints:
        """Where this node listens: no service may point there."""
        settings = self.settings
        return OwnEndpoints.of(
            settings.http_port,
            self.sync.host.listen_addrs(),
            settings.http_host,
            settings.public_addr,
        )
