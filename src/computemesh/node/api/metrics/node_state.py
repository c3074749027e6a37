"""Gauges and counters read from the running node when ``/metrics`` is scraped.

The table, the connections, gossip, refused records, membership challenges, the
routing's in-flight counts and cool-downs, and the event loop's lag are already kept
by the parts that own them (``TableSync.counts``, ``Rejections``, ``ProviderStats``):
they are read here at scrape time, so serving a request costs nothing for them.
"""

import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from computemesh.node.api.state import NodeState
from computemesh.registry.rejections import REASONS

GOSSIP_OUT = "gossip published"


class NodeStateCollector(Collector):
    def __init__(self, state: NodeState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        yield from self._table()
        yield from self._peers()
        yield from self._gossip()
        yield from self._routing()
        yield from self._loop()

    def _table(self) -> Iterator[Metric]:
        state = self._state
        rows = state.rows()
        yield GaugeMetricFamily(
            "computemesh_table_nodes", "Live records in the node table", len(rows)
        )
        online = sum(row.online for row in rows)
        yield GaugeMetricFamily("computemesh_table_nodes_online", "Nodes online now", online)
        rejected = CounterMetricFamily(
            "computemesh_records_rejected", "Node records refused, by reason", labels=["reason"]
        )
        by_reason = state.rejected_records()
        for reason in REASONS:
            rejected.add_metric([reason], by_reason.get(reason, 0))
        yield rejected

    def _peers(self) -> Iterator[Metric]:
        host = self._state.host
        kinds = Counter(host.connection_kind(peer) or "direct" for peer in host.connected_peers())
        peers = GaugeMetricFamily(
            "computemesh_peers_connected", "Peers connected, by connection", labels=["connection"]
        )
        for kind in ("direct", "relayed"):
            peers.add_metric([kind], kinds[kind])
        yield peers
        yield CounterMetricFamily(
            "computemesh_membership_challenges_failed",
            "Peers that failed the private network's membership challenge",
            value=host.membership_failures(),
        )

    def _gossip(self) -> Iterator[Metric]:
        counts = self._state.table_counts()
        received = sum(
            n for key, n in counts.items() if key.startswith("gossip ") and key != GOSSIP_OUT
        )
        gossip = CounterMetricFamily(
            "computemesh_gossip_messages",
            "Node records by gossip: received (in) and published by this node (out)",
            labels=["direction"],
        )
        gossip.add_metric(["in"], received)
        gossip.add_metric(["out"], counts[GOSSIP_OUT])
        yield gossip

    def _routing(self) -> Iterator[Metric]:
        state = self._state
        stats = state.dispatcher.stats
        yield GaugeMetricFamily(
            "computemesh_forwards_in_flight",
            "Requests this node routed that providers are still answering",
            sum(stats.inflight.values()),
        )
        yield GaugeMetricFamily(
            "computemesh_local_requests_in_flight",
            "Requests this node's own services are answering (for itself or peers)",
            state.load.in_flight,
        )
        yield GaugeMetricFamily(
            "computemesh_providers_cooling_down",
            "Providers in a cool-down now (routing avoids them)",
            stats.cooling_count(time.monotonic()),
        )

    def _loop(self) -> Iterator[Metric]:
        counts = self._state.table_counts()
        yield GaugeMetricFamily(
            "computemesh_event_loop_lag_seconds",
            "How late the event loop woke up at its last tick",
            counts["loop_lag_last_ms"] / 1000,
        )
        yield GaugeMetricFamily(
            "computemesh_event_loop_lag_max_seconds",
            "The worst event loop lag seen since the start",
            counts["loop_lag_max_ms"] / 1000,
        )
        yield CounterMetricFamily(
            "computemesh_event_loop_stalls",
            "Event loop stalls over 1 s",
            value=counts["loop_stalls_over_1s"],
        )
