"""The dispatcher's observer: forwarded requests by service, model, outcome and provider.

Outcomes: ``served`` (the first provider tried answered), ``retried`` (another one
did, after a failure), ``failed`` (none did). Providers: ``local`` (this node),
``remote`` (a peer over a direct connection), ``relayed`` (a peer through a relay),
``none`` (no provider was found to try).
"""

import time

from prometheus_client import Histogram

from computemesh.node.api.metrics.instruments import NodeMetrics
from computemesh.node.api.metrics.labels import (
    NONE,
    ConnectionKinds,
    model_label,
    service_label,
)
from computemesh.registry.providers import ProviderIndex
from computemesh.routing.candidates import Candidate
from computemesh.routing.catalog import MODEL_KEY
from computemesh.routing.forwarder import Forwarded
from computemesh.routing.observer import DispatchTrace


class ForwardMetrics:
    def __init__(
        self, metrics: NodeMetrics, providers: ProviderIndex, connections: ConnectionKinds
    ) -> None:
        self._metrics = metrics
        self._providers = providers
        self._connections = connections
        self._first_bytes: dict[tuple[str, str], Histogram] = {}

    def cooled_down(self, trace: DispatchTrace, provider: Candidate) -> None:
        service = service_label(self._providers, trace.service)
        self._metrics.cooldowns.labels(service, self._kind(provider)).inc()

    def finished(self, trace: DispatchTrace, answer: Forwarded | None) -> None:
        service = service_label(self._providers, trace.service)
        model = model_label(self._providers, trace.service, trace.fields.get(MODEL_KEY))
        provider = NONE if trace.provider is None else self._kind(trace.provider)
        if answer is None:
            outcome = "failed"
        else:
            outcome = "served" if trace.attempts <= 1 else "retried"
            self._first_byte(service, model).observe(time.monotonic() - trace.started)
        self._metrics.forwarded.add((service, model, outcome, provider))

    def _kind(self, provider: Candidate) -> str:
        if provider.is_local:
            return "local"
        return "relayed" if self._connections.of(provider.peer) == "relayed" else "remote"

    def _first_byte(self, service: str, model: str) -> Histogram:
        found = self._first_bytes.get((service, model))
        if found is None:
            found = self._first_bytes[(service, model)] = self._metrics.first_byte.labels(
                service, model
            )
        return found
