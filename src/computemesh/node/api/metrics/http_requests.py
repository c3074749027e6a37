"""ASGI middleware that counts each HTTP request once it is answered, and logs it if asked.

It sits outside everything else, so a request refused early (an unknown Host, a
CORS preflight) counts too. The route template is read after the answer, when the
router has left its endpoint in the scope (``routes.RouteNames``).
"""

import logging
import time
from collections.abc import MutableMapping
from typing import Any

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
        self._channel = (channel,)
        self._access_log = access_log

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

        metrics = self._metrics
        if metrics is not None:
            metrics.http_in_flight.levels[self._channel] += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            surface, route = self._routes.of(scope)
            if metrics is not None:
                metrics.http_in_flight.levels[self._channel] -= 1
                metrics.http_requests.add((*self._channel, surface, route, str(status)))
            if self._access_log:
                self._log(scope["method"], route, status, time.perf_counter() - started)

    def _log(self, method: str, route: str, status: int, elapsed: float) -> None:
        channel = self._channel[0]
        access.info("%s %s %s %d %.1f ms", channel, method, route, status, elapsed * 1000)
