"""ASGI middleware that counts each HTTP request once it is answered, and logs it if asked.

It sits outside everything else, so a request refused early (an unknown Host, a
CORS preflight) counts too. The route template is read after the answer, when the
router has left its endpoint in the scope (``routes.RouteNames``).
"""

import logging
import time
from collections.abc import MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

from computemesh.body_limit import ASGIApp, Receive, Send
from computemesh.node.api.metrics.instruments import NodeMetrics
from computemesh.node.api.metrics.routes import RouteNames

access = logging.getLogger("computemesh.access")
Message = MutableMapping[str, Any]


class ObservedRequests:
    """Counts (``metrics``) and logs (``access_log``) the requests that reach ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        routes: RouteNames,
        metrics: NodeMetrics | None,
        *,
        channel: str,
        access_log: bool,
    ) -> None:
        self.app = app
        self._routes = routes
        self._metrics = metrics
        self._channel = channel
        self._access_log = access_log
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._durations: dict[str, Histogram] = {}
        self._in_flight = metrics.http_in_flight.labels(channel) if metrics else None

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if self._in_flight is not None:
            self._in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self._finished(scope, status, time.perf_counter() - started)

    def _finished(self, scope: Message, status: int, elapsed: float) -> None:
        surface, route = self._routes.of(scope)
        if self._metrics is not None and self._in_flight is not None:
            self._in_flight.dec()
            self._counter(surface, route, status).inc()
            self._duration(surface).observe(elapsed)
        if self._access_log:
            access.info(
                "%s %s %s %d %.1f ms", self._channel, scope["method"], route, status, elapsed * 1e3
            )

    def _counter(self, surface: str, route: str, status: int) -> Counter:
        key = (surface, route, status)
        found = self._counters.get(key)
        if found is None:
            assert self._metrics is not None
            found = self._metrics.http_requests.labels(self._channel, surface, route, str(status))
            self._counters[key] = found
        return found

    def _duration(self, surface: str) -> Histogram:
        found = self._durations.get(surface)
        if found is None:
            assert self._metrics is not None
            found = self._metrics.http_duration.labels(self._channel, surface)
            self._durations[surface] = found
        return found
