"""Two ``KeyService`` replicas over one SQLite database and the real Redis, in one process.

Each replica remembers resolved keys for a minute, so only the revocation announcement
(or distrust of the cache while not subscribed) can make the other refuse in time.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

from computemesh.cli.localmesh import free_port
from computemesh.gateway.auth.keys import KeyService
from computemesh.gateway.auth.revocations import Revocations
from computemesh.gateway.db import ApiKeyRecord, Database
from computemesh.gateway.errors import Unauthorized

LONG_CACHE_S = 60.0
# Announcements arrive in milliseconds; this only bounds a slow CI box.
PATIENCE_S = 5.0
# A silent loss is noticed within about these (kept short so the test is quick).
PING_EVERY_S, SILENT_LIMIT_S = 0.1, 0.5


class Replica:
    """One gateway's key service: its own database engine and, maybe, its own Redis clients."""

    def __init__(self, db: Database, revocations: Revocations | None) -> None:
        self.db = db
        self.revocations = revocations
        announce = revocations.announce if revocations else None
        self.keys = KeyService(db, LONG_CACHE_S, announce)


@contextlib.asynccontextmanager
async def replica(sqlite_url: str, redis_url: str | None) -> AsyncIterator[Replica]:
    """A replica listening for revocations (when given Redis), closed afterwards."""
    db = Database(sqlite_url)
    await db.prepare()
    revocations = Revocations(redis_url, PING_EVERY_S, SILENT_LIMIT_S) if redis_url else None
    this = Replica(db, revocations)
    listening = None
    if revocations is not None:
        listening = asyncio.create_task(revocations.listen(this.keys.forget, this.keys.trust_cache))
    try:
        yield this
    finally:
        if listening is not None:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
        if revocations is not None:
            await revocations.aclose()
        await db.close()


async def _within(seconds: float, check: Callable[[], Awaitable[bool]]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


async def _subscribed(replica: Replica) -> None:
    """Wait until the replica trusts its cache, which it only does once subscribed."""

    async def check() -> bool:
        return replica.revocations is not None and replica.revocations.subscribed

    assert await _within(PATIENCE_S, check), "never subscribed"


async def _refused(keys: KeyService, key: str) -> bool:
    try:
        await keys.resolve(key)
    except Unauthorized:
        return True
    return False


async def _new_key(replica: Replica) -> tuple[ApiKeyRecord, str]:
    user = await replica.db.users.get_or_create("0x" + "ab" * 20)
    return await replica.keys.create(user.id, "test key")


async def _deactivated_after_b_resolved_it(a: Replica, b: Replica) -> str:
    """A key created at ``a``, resolved (so remembered) at ``b``, then deactivated at ``a``."""
    record, key = await _new_key(a)
    await b.keys.resolve(key)
    await a.keys.deactivate(record.user_id, record.id)
    return key


def test_a_key_deactivated_at_one_replica_is_refused_at_the_other(
    sqlite_url: str, redis_url: str
) -> None:
    async def scenario() -> None:
        async with replica(sqlite_url, redis_url) as a, replica(sqlite_url, redis_url) as b:
            await _subscribed(b)
            record, key = await _new_key(a)
            assert (await b.keys.resolve(key)).api_key_id == record.id  # now remembered at B
            await a.keys.deactivate(record.user_id, record.id)
            assert await _refused(a.keys, key)
            assert await _within(PATIENCE_S, lambda: _refused(b.keys, key))

    asyncio.run(scenario())


def test_without_announcements_the_other_replica_still_remembers_the_key(
    sqlite_url: str, redis_url: str
) -> None:
    # The contrast that shows the announcement is what refuses the key above.
    async def scenario() -> None:
        async with replica(sqlite_url, redis_url) as a, replica(sqlite_url, None) as b:
            key = await _deactivated_after_b_resolved_it(a, b)
            assert await _refused(a.keys, key)
            assert not await _refused(b.keys, key)

    asyncio.run(scenario())


def test_a_replica_not_subscribed_trusts_nothing_it_remembered(sqlite_url: str) -> None:
    # Nothing listens on this port: B can never subscribe, so it must read the database.
    nowhere = f"redis://127.0.0.1:{free_port()}/0"

    async def scenario() -> None:
        async with replica(sqlite_url, None) as a, replica(sqlite_url, nowhere) as b:
            key = await _deactivated_after_b_resolved_it(a, b)
            assert await _refused(b.keys, key)

    asyncio.run(scenario())


class Partition:
    """A TCP relay to Redis that can go silent, keeping every connection open: a partition
    that neither side is told about (no FIN, no RST), which only a heartbeat can notice."""

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._path = parts.path
        self.silent = False
        self._writers: list[asyncio.StreamWriter] = []
        self._relays: set[asyncio.Task[object]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """The Redis URL that goes through this relay."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}{self._path}"

    async def _relay(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        self._relays.add(relay)
        server_in, server = await asyncio.open_connection(*self._target)
        self._writers += [client, server]
        with contextlib.suppress(ConnectionError):
            await asyncio.gather(self._pipe(client_in, server), self._pipe(server_in, client))

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            if not self.silent:  # when silent, bytes vanish as on a dead link
                sink.write(data)
                await sink.drain()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        # Closed sockets end every relay; let them end by themselves (a cancelled
        # connection callback is logged as an error by asyncio).
        if self._relays:
            await asyncio.wait(self._relays, timeout=5)


def test_a_silently_lost_subscription_is_noticed_and_not_trusted(
    sqlite_url: str, redis_url: str
) -> None:
    async def scenario() -> None:
        partition = Partition(redis_url)
        through = await partition.start()
        try:
            async with replica(sqlite_url, redis_url) as a, replica(sqlite_url, through) as b:
                await _subscribed(b)
                record, key = await _new_key(a)
                await b.keys.resolve(key)
                partition.silent = True
                # B never hears this; it must notice the silence and stop trusting its cache.
                await a.keys.deactivate(record.user_id, record.id)
                assert await _within(PATIENCE_S, lambda: _refused(b.keys, key))
                assert b.revocations is not None
                assert not b.revocations.subscribed
                partition.silent = False
                await _subscribed(b)  # and it subscribes again once Redis answers
        finally:
            await partition.close()

    asyncio.run(scenario())
