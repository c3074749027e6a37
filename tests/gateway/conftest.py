"""Fixtures for gateway tests: the upstream, gateways (in-process and real), wallets, servers.

PostgreSQL and Redis tests use the servers on 127.0.0.1:5432 / 6379. Without them they
skip, saying why, unless ``CI`` is set: then they fail, so CI cannot pass by skipping.
"""

import asyncio
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from computemesh.config import GatewaySettings
from computemesh.gateway.app import create_app
from tests.gateway import harness

PG_ADMIN_URL = os.environ.get("COMPUTEMESH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COMPUTEMESH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def need_server(port: int, what: str) -> None:
    if _listening(port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not listening on 127.0.0.1:{port}, and CI must run these tests")
    pytest.skip(f"{what} is not listening on 127.0.0.1:{port} (CI unset, so skipping)")


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Process]:
    process = harness.upstream(tmp_path_factory.mktemp("upstream")).start()
    yield process
    process.kill()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def make_client(upstream: harness.Process, sqlite_url: str) -> Iterator[Callable[..., TestClient]]:
    """An in-process gateway (real lifespan, real SQLite, real upstream) behind a TestClient."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        fields: dict[str, Any] = {
            "secret_key": harness.DEV_SECRET,
            "ocf_head_url": [upstream.url],
            "database_url": sqlite_url,
            **overrides,
        }
        client = TestClient(create_app(GatewaySettings.load(**fields)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., harness.Process]]:
    started: list[harness.Process] = []

    def start(nodes: list[str], database_url: str, **env: str) -> harness.Process:
        process = harness.gateway(tmp_path, nodes, database_url, **env)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards."""
    need_server(5432, "PostgreSQL")
    import asyncpg  # type: ignore[import-untyped]  # only here: SQLite tests skip loading it

    name = f"gw_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_url() -> str:
    need_server(6379, "Redis")
    return REDIS_URL


MakeClient = Callable[..., TestClient]


class Wallet:
    """A fresh Ethereum account that logs in the way a browser wallet would."""

    def __init__(self) -> None:
        self.account: LocalAccount = Account.create()

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign(self, message: str) -> str:
        signed = self.account.sign_message(encode_defunct(text=message))
        return "0x" + signed.signature.hex().removeprefix("0x")

    def challenge(self, http: httpx.Client | TestClient, chain_id: int = 1) -> str:
        response = http.get(
            "/api/auth/nonce", params={"address": self.address, "chain_id": chain_id}
        )
        assert response.status_code == 200, response.text
        message: str = response.json()["message"]
        return message

    def connect_body(self, http: httpx.Client | TestClient, chain_id: int = 1) -> dict[str, Any]:
        message = self.challenge(http, chain_id)
        return {"address": self.address, "signature": self.sign(message), "chain_id": chain_id}

    def login(self, http: httpx.Client | TestClient) -> str:
        response = http.post("/api/auth/connect", json=self.connect_body(http))
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_key(http: httpx.Client | TestClient, token: str, name: str = "test key") -> dict[str, Any]:
    response = http.post("/api/api-keys", json={"name": name}, headers=bearer(token))
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def wallet() -> Wallet:
    return Wallet()
