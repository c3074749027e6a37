"""What the HTTP edge of a running node can reach; built by the daemon.

Handlers ask for what they mean (this node's rows of the table, a model the mesh
knows, registering a project) through ``NodeState``'s methods, rather than reaching
through it into the registry's and the router's own objects.
"""

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from computemesh.config import NodeSettings
from computemesh.ids import PeerId
from computemesh.node.api.metrics.instruments import NodeMetrics
from computemesh.node.local_engine import LocalModels
from computemesh.p2p.host import MeshHost
from computemesh.p2phttp.direct import DirectSender
from computemesh.registry import view
from computemesh.registry.node_entry import offer_entries, takes_entries, update_own, withdraw_own
from computemesh.registry.observations import Observation
from computemesh.registry.projects import ProjectModel, ProjectStore
from computemesh.registry.service_urls import OwnEndpoints
from computemesh.registry.services import LocalService
from computemesh.registry.sync import TableSync
from computemesh.routing.catalog import LLM_SERVICE, MODEL_KEY, MeshModel, mesh_models
from computemesh.routing.directory import PeerDirectory
from computemesh.routing.dispatcher import Dispatcher
from computemesh.routing.explain import Explanation, explain
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
    local_models: LocalModels
    """The models this node's own engine serves; ``POST /v1/import`` adds to them."""
    usage: UsageMeter = field(default_factory=UsageMeter)
    """Tokens of the answers the OpenAI surface gave this node's clients."""
    started_at: float = field(default_factory=time.time)
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

    @property
    def peer_id(self) -> PeerId:
        return self.sync.host.peer_id

    @property
    def host(self) -> MeshHost:
        """This node's libp2p host: its connections, peers and addresses."""
        return self.sync.host

    def rows(self, now: float | None = None, window: float | None = None) -> list[view.PeerRow]:
        """Every live record of the table, this node's own first (``view.rows``)."""
        return view.rows(self.sync, _now(now), self.online_window if window is None else window)

    def row(self, peer: PeerId) -> view.PeerRow | None:
        return view.peer_row(self.sync, peer, time.time(), self.online_window)

    def bootstraps(self) -> list[str]:
        return view.bootstraps(self.sync, time.time(), self.online_window)

    def observation(self, peer: PeerId) -> Observation:
        """What this node saw of ``peer``: connections, last seen, latency."""
        return self.sync.observations.get(peer)

    def table_counts(self) -> Counter[str]:
        """How the table's gossip went (records accepted, refused, …), by outcome; a copy,
        in which a count never made reads 0."""
        return Counter(self.sync.counts)

    def can_add_models(self, service: str) -> bool:
        """Whether this node's ``service`` can name more models (``takes_entries``)."""
        return takes_entries(self.sync, service)

    def add_models(self, service: str, urls: dict[str, str]) -> None:
        """Offer models loaded since the start under ``service``, and publish the record."""
        offer_entries(self.sync, service, urls)

    def explain(self, model: str, peer: PeerId | None) -> Explanation:
        """Every provider claiming ``model`` (or only ``peer``): candidate or not, and why."""
        return explain(self.sync, self.dispatcher.stats, self.online_window, model, peer)

    def rejected_records(self) -> dict[str, int]:
        """Records this node refused, by reason."""
        return self.sync.rejections.by_reason()

    def mesh_model(self, model: str) -> MeshModel | None:
        """What the mesh offers of ``model``, from only the records that claim it."""
        entry = f"{MODEL_KEY}={model}"
        claiming = self.dispatcher.providers.claiming(LLM_SERVICE, entry, time.time())
        return mesh_models(claiming).get(model)

    def own_service(self, name: str) -> LocalService | None:
        """A service this node's own record offers."""
        return self.sync.own.services.get(name)

    def update_own_entry(self, fields: dict[str, Any]) -> None:
        update_own(self.sync, fields)

    def withdraw_own_entry(self) -> None:
        withdraw_own(self.sync)

    def register_models(self, models: Iterable[ProjectModel]) -> None:
        """Offer project models from this node (saved, and published at once)."""
        self.projects.register(self.sync.own, models)
        self.sync.publish_now()

    def unregister_project(self, project: str) -> None:
        """Withdraw every model of ``project`` from this node (saved, published at once)."""
        self.projects.unregister(self.sync.own, project)
        self.sync.publish_now()


def _now(now: float | None) -> float:
    return time.time() if now is None else now
