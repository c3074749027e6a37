"""The services one gateway process runs, built by ``gateway.app`` and read by the routers."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from computemesh.config import GatewaySettings
from computemesh.gateway.accounts.login import LoginService
from computemesh.gateway.api.metrics import GatewayMetrics
from computemesh.gateway.auth.keys import KeyService
from computemesh.gateway.auth.revocations import Revocations
from computemesh.gateway.auth.tokens import TokenIssuer
from computemesh.gateway.db import Database
from computemesh.gateway.metering.recorder import UsageRecorder
from computemesh.gateway.ratelimit.limits import RateLimiter
from computemesh.gateway.upstream.client import NodeClient
from computemesh.gateway.upstream.models import ModelCatalog


@dataclass
class GatewayState:
    settings: GatewaySettings
    db: Database
    tokens: TokenIssuer
    login: LoginService
    keys: KeyService
    nodes: NodeClient
    catalog: ModelCatalog
    limiter: RateLimiter
    recorder: UsageRecorder
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    revocations: Revocations | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def behind(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after the response, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the work started with ``behind`` (on shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
