"""Connects a node's metrics to its parts: the dispatcher's observer and the collectors."""

from computemesh.node.api.metrics.engine import EngineCollector
from computemesh.node.api.metrics.forwarding import ForwardMetrics
from computemesh.node.api.metrics.labels import ConnectionKinds
from computemesh.node.api.metrics.node_state import NodeStateCollector
from computemesh.node.api.state import NodeState


def watch(state: NodeState) -> None:
    """Start counting for ``state`` (nothing at all when its metrics are off)."""
    metrics = state.metrics
    if not metrics.enabled:
        return
    dispatcher = state.dispatcher
    connections = ConnectionKinds(state.host)
    dispatcher.observer = ForwardMetrics(metrics, dispatcher.providers, connections)
    metrics.registry.register(NodeStateCollector(state))
    engine = EngineCollector(state)
    metrics.registry.register(engine)
    metrics.before_scrape.append(engine.refresh)
