"""The node's Prometheus instruments, in a registry of its own (never the global one).

Every label takes values from a closed set: surfaces, route templates (never raw
paths), status codes, outcomes, provider kinds, and services and models that the
node table lists (anything else is ``other``). No key, token, prompt, request id or
signature is ever a label value.
"""

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from computemesh.node.api.metrics.tally import Level, Tally

OTHER = "other"
# Seconds: forwarding on loopback takes about a millisecond, a model's answer minutes.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
RATE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class NodeMetrics:
    """What a node counts as it serves; ``registry`` is what ``/metrics`` renders."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.before_scrape: list[Callable[[], Awaitable[None]]] = []
        """Reads (of the local engines) to finish before the registry is rendered."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Counted on every request: plain integers (tally.py), rendered at scrape.
        self.http_requests = Tally(
            "computemesh_http_requests",
            "HTTP requests answered, by channel (client or mesh), surface, route template, status",
            ["channel", "surface", "route", "status"],
        )
        self.http_in_flight = Level(
            "computemesh_http_requests_in_flight",
            "HTTP requests being answered now",
            ["channel"],
        )
        self.forwarded = Tally(
            "computemesh_forwarded_requests",
            "Requests routed to a provider by service and model: served (first provider),"
            " retried (served by another after a failure) or failed; provider local,"
            " remote, relayed (or none when no provider was found)",
            ["service", "model", "outcome", "provider"],
        )
        for hot in (self.http_requests, self.http_in_flight, self.forwarded):
            r.register(hot)
        self.cooldowns = Counter(
            "computemesh_provider_cooldowns",
            "Providers put in a cool-down after a failed attempt",
            ["service", "provider"],
            registry=r,
        )
        self.first_byte = Histogram(
            "computemesh_forward_first_byte_seconds",
            "From choosing a provider to its answer's first bytes (retries included)",
            ["service", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_duration = Histogram(
            "computemesh_inference_duration_seconds",
            "An OpenAI-surface answer end to end: from the request to the answer's last byte",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_token = Histogram(
            "computemesh_inference_first_token_seconds",
            "From a streamed request to the first event carrying generated text",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens_per_second = Histogram(
            "computemesh_inference_tokens_per_second",
            "Generated tokens per second of an answer (from its first token when streamed)",
            ["model"],
            buckets=RATE_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "computemesh_inference_tokens",
            "Tokens of the answers this node relayed to its clients, from their usage",
            ["model", "kind"],
            registry=r,
        )
