"""A usage record the database refuses is set aside without holding back the others; when the
database itself is down, every record waits and none is lost. PostgreSQL (NUL refused), SQLite
(an unpaired surrogate cannot be encoded), and a real outage through a proxy we can stop."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from computemesh.gateway.db import Database, UsageRecord
from computemesh.gateway.db.migrate import upgrade
from computemesh.gateway.metering.recorder import UsageRecorder


def record(model: str = "tiny-chat") -> UsageRecord:
    return UsageRecord(
        id=str(uuid.uuid4()),
        user_id=None,
        api_key_id=None,
        model=model,
        node="12D3KooWTest",
        prompt_tokens=3,
        completion_tokens=5,
        latency_ms=1.5,
        status=200,
        created_at=datetime.now(UTC),
        streamed=False,
    )


@contextlib.asynccontextmanager
async def database(url: str) -> AsyncIterator[Database]:
    db = Database(url)
    try:
        await upgrade(db.engine)
        yield db
    finally:
        await db.close()


async def refused_is_set_aside(url: str, refused_model: str) -> None:
    async with database(url) as db:
        recorder = UsageRecorder(db)
        first, refused, last = record(), record(refused_model), record()
        for each in (first, refused, last):
            recorder.record(each)
        assert await recorder.flush() == 2
        assert recorder.pending == 0
        assert recorder.set_aside == 1
        assert await db.usage.ids() == {first.id, last.id}
        [kept] = (await db.usage.dead_letters()).values()
        assert kept["id"] == refused.id
        assert kept["model"] == refused_model  # the escaped text reads back as it was
        # Records that come later are not held back either.
        later = record()
        recorder.record(later)
        assert await recorder.flush() == 1
        assert later.id in await db.usage.ids()


@pytest.mark.parametrize("model", ["m\u0000", "m\ud800"])
def test_postgres_refused_record_is_set_aside(postgres_url: str, model: str) -> None:
    asyncio.run(refused_is_set_aside(postgres_url, model))


def test_sqlite_refused_record_is_set_aside(sqlite_url: str) -> None:
    asyncio.run(refused_is_set_aside(sqlite_url, "m\ud800"))


class Proxy:
    """A TCP relay on a fixed loopback port that can be stopped (an outage) and started again."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # open connections break, as when a server dies
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


async def outage_loses_nothing(url: str) -> None:
    async with database(url):
        pass  # migrated straight, not through the proxy
    proxy = Proxy(5432)
    await proxy.start()
    through = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    async with contextlib.AsyncExitStack() as stack:
        db = Database(through)
        stack.push_async_callback(db.close)
        recorder = UsageRecorder(db)
        good, refused = record(), record("m\u0000")
        recorder.record(good)
        assert await recorder.flush() == 1  # the pool now holds a live connection
        recorder.record(refused)
        recorder.record(other := record())
        await proxy.stop()
        assert await recorder.flush() == 0
        assert recorder.pending == 2
        await proxy.start()
        assert await recorder.flush() == 1
        assert recorder.pending == 0
        # Set aside only once the database answered and still refused it.
        assert recorder.set_aside == 1
        assert await db.usage.ids() == {good.id, other.id}
        assert set(await db.usage.dead_letters()) == {refused.id}
        await proxy.stop()


def test_database_outage_keeps_every_record_until_it_is_back(postgres_url: str) -> None:
    asyncio.run(outage_loses_nothing(postgres_url))
