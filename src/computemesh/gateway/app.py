"""The gateway's composition root: build every service from settings, own their lifecycles."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from computemesh import __version__
from computemesh.body_limit import BodyLimit
from computemesh.config import GatewaySettings
from computemesh.gateway.accounts.login import LoginService
from computemesh.gateway.api import errors
from computemesh.gateway.api.metrics import GatewayMetrics, ObservedRequests
from computemesh.gateway.api.routes import auth, inference, keys, meta, models, usage
from computemesh.gateway.api.routes import metrics as metrics_route
from computemesh.gateway.api.state import GatewayState
from computemesh.gateway.auth.keys import KeyService
from computemesh.gateway.auth.revocations import Revocations
from computemesh.gateway.auth.tokens import TokenIssuer
from computemesh.gateway.db import Database
from computemesh.gateway.db.datadir import make_private_dir
from computemesh.gateway.metering.recorder import UsageRecorder
from computemesh.gateway.ratelimit.limits import RateLimiter
from computemesh.gateway.ratelimit.memory import MemoryRateLimiter
from computemesh.gateway.ratelimit.redis import RedisRateLimiter
from computemesh.gateway.startup import startup_warnings
from computemesh.gateway.upstream.client import NodeClient
from computemesh.gateway.upstream.models import ModelCatalog
from computemesh.json_bodies import JsonBodies
from computemesh.request_id import RequestIds

log = logging.getLogger(__name__)
DEFAULT_PRICE = "0.1"  # the OCF proxy API's example; nodes may claim their own with ``price=``


def _body_too_large(limit: int) -> Exception:
    return HTTPException(413, f"the request body is over {limit} bytes")


def create_app(settings: GatewaySettings) -> FastAPI:
    metrics = GatewayMetrics(settings.metrics)
    app = FastAPI(
        title="computemesh gateway",
        version=__version__,
        description="Wallet login, API keys, usage and rate limits in front of computemesh nodes.",
        lifespan=lambda app: _lifespan(app, settings, metrics),
    )
    app.state.metrics = metrics
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, too_large=_body_too_large)
    app.add_middleware(JsonBodies)  # curl -d, requests' data=, Go clients: JSON all the same
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["x-computing-node", "x-request-id", "retry-after", "x-ratelimit-*"],
    )
    if settings.trusted_proxies:
        # Outermost, so everything inside (limits, login messages) sees the real client:
        # the rightmost X-Forwarded-For hop that is not a trusted proxy. Nobody else's
        # X-Forwarded-For is read (the server's own proxy handling is off).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    if metrics.enabled or settings.access_log:
        counted = metrics if metrics.enabled else None
        app.add_middleware(ObservedRequests, metrics=counted, access_log=settings.access_log)
    app.add_middleware(RequestIds)  # outermost: every line logged for a request names it
    for module in (meta, auth, keys, models, usage, inference, metrics_route):
        app.include_router(module.router)
    app.include_router(inference.legacy)
    errors.install(app)
    return app


@contextlib.asynccontextmanager
async def _lifespan(
    app: FastAPI, settings: GatewaySettings, metrics: GatewayMetrics
) -> AsyncIterator[None]:
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
    state = await build_state(settings, metrics)
    app.state.gateway = state
    tasks = [asyncio.create_task(_write_behind(state))]
    if state.revocations is not None:
        listen = state.revocations.listen(state.keys.forget, state.keys.trust_cache)
        tasks.append(asyncio.create_task(listen))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await _close(state)


async def build_state(
    settings: GatewaySettings, metrics: GatewayMetrics | None = None
) -> GatewayState:
    if settings.database_in_data_dir:
        make_private_dir(settings.data_dir)
    db = Database(settings.database_url)
    await db.prepare()
    assert settings.secret_key is not None  # the settings validator guarantees one
    tokens = TokenIssuer(
        settings.secret_key.get_secret_value(),
        timedelta(minutes=settings.access_token_expire_minutes),
    )
    nodes = NodeClient(settings.ocf_head_url, settings.upstream_timeout, settings.upstream_cooldown)
    revocations = Revocations(settings.redis_url) if settings.redis_url else None
    announce = revocations.announce if revocations else None
    recorder = UsageRecorder(db)
    metrics = metrics or GatewayMetrics(settings.metrics)
    metrics.watch_usage(recorder)
    return GatewayState(
        settings=settings,
        db=db,
        tokens=tokens,
        login=LoginService(
            db,
            tokens,
            timedelta(seconds=settings.nonce_ttl),
            accept_ocf_message=settings.accept_legacy_login_message,
        ),
        keys=KeyService(db, settings.key_cache_ttl, announce),
        nodes=nodes,
        catalog=ModelCatalog(nodes, settings.chain_name, DEFAULT_PRICE),
        limiter=await _limiter(settings),
        recorder=recorder,
        metrics=metrics,
        revocations=revocations,
    )


async def _limiter(settings: GatewaySettings) -> RateLimiter:
    if settings.redis_url is None:
        return MemoryRateLimiter()
    limiter = RedisRateLimiter(settings.redis_url)
    await limiter.ping()  # fail at start, not on the first request
    return limiter


async def _write_behind(state: GatewayState) -> None:
    """Every flush interval: usage records and ``last_used`` stamps, in batches."""
    while True:
        await asyncio.sleep(state.settings.usage_flush_interval)
        await _flush(state)


async def _flush(state: GatewayState) -> None:
    await state.recorder.flush()
    try:
        await state.keys.flush_last_used()
    except Exception:
        log.exception("last_used write failed; kept for the next try")


async def _close(state: GatewayState) -> None:
    """Finish what requests left behind, write it all, then close connections."""
    await state.drain()
    await _flush(state)
    if state.recorder.pending:
        log.error("%d usage records could not be written at shutdown", state.recorder.pending)
    await state.limiter.aclose()
    if state.revocations is not None:
        await state.revocations.aclose()
    await state.nodes.aclose()
    await state.db.close()
