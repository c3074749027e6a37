"""The gateway's Prometheus metrics, in a registry of its own per app (never the global one).

Requests by route template and status; inference requests and tokens per API key
(its id, never the key) and per model; rate-limit refusals; database and upstream
errors; and, read at scrape time, the usage records waiting to be written and the
age of the oldest. A ``model`` label is a model a node served (its answer was not an
error) or one of the node's catalog; any other name a caller sends counts as ``other``.
"""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from computemesh.body_limit import ASGIApp, Message, Receive, Send
from computemesh.gateway.metering.recorder import UsageRecorder

ANONYMOUS = "none"
access = logging.getLogger("computemesh.access")


class GatewayMetrics:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._backlog: UsageBacklog | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "computemesh_gateway_http_requests",
            "HTTP requests answered, by route template and status",
            ["route", "status"],
            registry=r,
        )
        self.key_requests = Counter(
            "computemesh_gateway_key_requests",
            "Inference requests per API key id (none: no key), by status",
            ["api_key_id", "status"],
            registry=r,
        )
        self.key_tokens = Counter(
            "computemesh_gateway_key_tokens",
            "Tokens metered per API key id (none: no key), prompt or completion",
            ["api_key_id", "kind"],
            registry=r,
        )
        self.model_requests = Counter(
            "computemesh_gateway_model_requests",
            "Inference requests per model, by status",
            ["model", "status"],
            registry=r,
        )
        self.model_tokens = Counter(
            "computemesh_gateway_model_tokens",
            "Tokens metered per model, prompt or completion",
            ["model", "kind"],
            registry=r,
        )
        self.rate_limited = Counter(
            "computemesh_gateway_rate_limit_refusals",
            "Requests refused by a rate limit (429), by route template",
            ["route"],
            registry=r,
        )
        self.errors = Counter(
            "computemesh_gateway_errors",
            "Database and upstream (node) errors, by kind",
            ["kind"],
            registry=r,
        )
        for kind in ("database", "upstream"):
            self.errors.labels(kind)

    def watch_usage(self, recorder: UsageRecorder) -> None:
        """Read ``recorder``'s backlog at each scrape (replacing one watched before)."""
        if not self.enabled:
            return
        if self._backlog is not None:
            self.registry.unregister(self._backlog)
        self._backlog = UsageBacklog(recorder)
        self.registry.register(self._backlog)

    def inference(
        self, api_key_id: str | None, model: str, status: int, prompt: int, completion: int
    ) -> None:
        """One metered inference request ended (``model`` already a label value)."""
        if not self.enabled:
            return
        key = api_key_id or ANONYMOUS
        self.key_requests.labels(key, str(status)).inc()
        self.model_requests.labels(model, str(status)).inc()
        for kind, count in (("prompt", prompt), ("completion", completion)):
            if count > 0:
                self.key_tokens.labels(key, kind).inc(count)
                self.model_tokens.labels(model, kind).inc(count)

    def error(self, kind: str) -> None:
        if self.enabled:
            self.errors.labels(kind).inc()

    def refused(self, route: str) -> None:
        if self.enabled:
            self.rate_limited.labels(route).inc()


def route_of(scope: Message) -> str:
    """The matched route's template (FastAPI leaves the route in the scope), never a raw path."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


class UsageBacklog(Collector):
    """Usage records waiting in memory for the database, and how old the oldest is."""

    def __init__(self, recorder: UsageRecorder, clock: Callable[[], datetime] | None = None):
        self._recorder = recorder
        self._clock = clock or (lambda: datetime.now(UTC))

    def collect(self) -> Iterator[Metric]:
        recorder = self._recorder
        yield GaugeMetricFamily(
            "computemesh_gateway_usage_pending",
            "Usage records waiting to be written",
            recorder.pending,
        )
        oldest = recorder.oldest_pending_at
        age = 0.0 if oldest is None else max((self._clock() - oldest).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "computemesh_gateway_usage_oldest_pending_seconds",
            "Age of the oldest usage record waiting to be written (0 when none waits)",
            age,
        )
        yield CounterMetricFamily(
            "computemesh_gateway_usage_write_failures",
            "Usage writes the database failed (the records were kept for the next try)",
            value=recorder.write_failures,
        )
        yield CounterMetricFamily(
            "computemesh_gateway_usage_set_aside",
            "Usage records the database refused, set aside as dead letters",
            value=recorder.set_aside,
        )


class ObservedRequests:
    """ASGI middleware: counts each HTTP request by route template and status (``metrics``),
    and logs one line for it (``access_log``)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics | None, access_log: bool) -> None:
        self.app = app
        self._metrics = metrics
        self._access_log = access_log
        self._counters: dict[tuple[str, int], Any] = {}

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_of(scope)
            if self._metrics is not None:
                self._counter(route, status).inc()
            if self._access_log:
                elapsed_ms = (time.perf_counter() - started) * 1000
                access.info("%s %s %d %.1f ms", scope["method"], route, status, elapsed_ms)

    def _counter(self, route: str, status: int) -> Any:
        found = self._counters.get((route, status))
        if found is None:
            assert self._metrics is not None
            found = self._metrics.http_requests.labels(route, str(status))
            self._counters[(route, status)] = found
        return found
