"""Tell every gateway replica at once that an API key was deactivated (Redis pub/sub).

Replicas remember resolved keys for a moment (``KeyService``); without this, a key
deleted at one replica would still work at the others until their memory of it
expired. The replica that deactivates a key publishes its id after the database
write; every replica listens and forgets that key.

A replica that loses its subscription may miss a message, so from then until it is
subscribed again it trusts no remembered key (every request reads the database),
and when it is back it forgets everything it remembered.
"""

import logging
import random
from collections.abc import Callable

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
CHANNEL = "computemesh:gateway:key-revoked"
RETRY_FIRST_S, RETRY_MAX_S = 0.2, 10.0


class Revocations:
    """Publishes revoked key ids and feeds the ones other replicas revoke to ``forget``."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._subscribed = False

    async def announce(self, key_id: str) -> None:
        try:
            await self._redis.publish(CHANNEL, key_id)
        except RedisError as error:
            # The database already says inactive: this replica refuses the key, and
            # the others do within their key cache TTL.
            log.error("could not announce the deactivation of key %s: %s", key_id, error)

    async def listen(
        self, forget: Callable[[str], None], trust_cache: Callable[[bool], None]
    ) -> None:
        """Run until cancelled: subscribe, pass on revocations, resubscribe after a loss."""
        delay = RETRY_FIRST_S
        while True:
            self._subscribed = False
            try:
                await self._follow(forget, trust_cache)
            except (RedisError, OSError) as error:
                log.warning("key revocation channel lost (%s); retrying in %.1f s", error, delay)
            trust_cache(False)
            delay = RETRY_FIRST_S if self._subscribed else min(delay * 2, RETRY_MAX_S)
            await anyio.sleep(delay * random.uniform(0.8, 1.2))

    async def _follow(
        self, forget: Callable[[str], None], trust_cache: Callable[[bool], None]
    ) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message["type"] == "subscribe":
                    self._subscribed = True
                    trust_cache(True)  # from here on no revocation can be missed
                elif message["type"] == "message":
                    forget(_text(message["data"]))

    async def aclose(self) -> None:
        await self._redis.aclose()


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data
