"""Tell every gateway replica at once that an API key was deactivated (Redis pub/sub).

Replicas remember resolved keys for a moment (``KeyService``); without this, a key
deleted at one replica would still work at the others until their memory of it
expired. The replica that deactivates a key publishes its id after the database
write; every replica listens and forgets that key as the message arrives.

A replica that loses its subscription may miss a message, so from then until it is
subscribed again it trusts no remembered key (every request reads the database),
and when it is back it forgets everything it remembered. A loss counts from when it
is noticed: a closed or reset connection at once, a link that went silent within
``silent_limit`` (an idle subscription is pinged every ``ping_every``).
"""

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import anyio
from redis import exceptions
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)
CHANNEL = "computemesh:gateway:key-revoked"
RETRY_FIRST_S, RETRY_MAX_S = 0.2, 10.0
PING_EVERY_S, SILENT_LIMIT_S = 1.0, 3.0

Forget = Callable[[str], None]
TrustCache = Callable[[bool], None]


class Revocations:
    """Publishes revoked key ids and feeds the ones other replicas revoke to ``forget``."""

    def __init__(
        self, url: str, ping_every: float = PING_EVERY_S, silent_limit: float = SILENT_LIMIT_S
    ) -> None:
        self._publisher: Redis = Redis.from_url(url)
        # No retries of its own: redis-py would reconnect quietly, and messages sent in
        # that gap would be missed while the cache was still trusted. Timeouts, so a
        # connect or handshake into a silent link fails instead of hanging.
        self._subscriber: Redis = Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=silent_limit,
            socket_timeout=silent_limit,
        )
        self._ping_every, self._silent_limit = ping_every, silent_limit
        self._subscribed = False
        self._got_through = False  # whether the latest attempt ever subscribed

    @property
    def subscribed(self) -> bool:
        """True while no revocation can be missed (so the cache may be trusted)."""
        return self._subscribed

    async def announce(self, key_id: str) -> None:
        try:
            await self._publisher.publish(CHANNEL, key_id)
        except exceptions.RedisError as error:
            # The database already says inactive: this replica refuses the key, and
            # the others do within their key cache TTL.
            log.error("could not announce the deactivation of key %s: %s", key_id, error)

    async def listen(self, forget: Forget, trust_cache: TrustCache) -> None:
        """Run until cancelled: subscribe, pass on revocations, resubscribe after a loss."""
        delay = RETRY_FIRST_S
        while True:
            try:
                await self._follow(forget, trust_cache)
            except (exceptions.RedisError, OSError) as error:
                log.warning("key revocation channel lost (%s); retrying in %.1f s", error, delay)
            except Exception:
                # Whatever broke, listening must go on: the next subscription is what
                # lets this replica trust its cache again.
                log.exception("key revocation listener failed; retrying in %.1f s", delay)
            # Back off only while subscribing fails; a working subscription that broke retries soon.
            delay = RETRY_FIRST_S if self._got_through else min(delay * 2, RETRY_MAX_S)
            await anyio.sleep(delay * random.uniform(0.8, 1.2))

    async def _follow(self, forget: Forget, trust_cache: TrustCache) -> None:
        self._got_through = False
        async with self._subscriber.pubsub() as pubsub:
            try:
                await pubsub.subscribe(CHANNEL)
                await self._read(pubsub, forget, trust_cache)
            finally:
                # Distrust before closing: closing a silent link can itself take a while.
                self._subscribed = False
                trust_cache(False)

    async def _read(self, pubsub: PubSub, forget: Forget, trust_cache: TrustCache) -> None:
        """Pass on messages until the link fails or goes silent for ``silent_limit``."""
        heard = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=self._ping_every)
            if message is not None:
                heard = time.monotonic()  # a pong counts: the link is alive
                self._handle(message, forget, trust_cache)
            elif time.monotonic() - heard > self._silent_limit:
                raise exceptions.TimeoutError(f"Redis silent for {self._silent_limit:.1f} s")
            else:
                # While subscribed the pong comes back as a message, read above.
                await pubsub.ping()

    def _handle(self, message: dict[str, Any], forget: Forget, trust_cache: TrustCache) -> None:
        if message["type"] == "subscribe":
            self._subscribed = self._got_through = True
            trust_cache(True)  # from here on no revocation can be missed
        elif message["type"] == "message":
            forget(_text(message["data"]))

    async def aclose(self) -> None:
        await self._publisher.aclose()
        await self._subscriber.aclose()


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data
