"""Text no database can store (NUL, unpaired surrogates) is refused at the edge with 422, and
metering goes on: on PostgreSQL, which refuses NUL, as on SQLite."""

import asyncio
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from computemesh.gateway.db import Database
from computemesh.gateway.db.migrate import upgrade
from tests.gateway.conftest import MakeClient, Wallet, bearer, new_key

CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}
UNSTORABLE = ["m\u0000", "m\ud800"]


def migrated(url: str) -> str:
    async def run() -> None:
        db = Database(url)
        try:
            await upgrade(db.engine)
        finally:
            await db.close()

    asyncio.run(run())
    return url


def stored_ids(url: str) -> set[str]:
    import asyncpg  # type: ignore[import-untyped]  # as in conftest: only PostgreSQL tests load it

    async def read() -> set[str]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return {row["id"] for row in await conn.fetch("SELECT id FROM usage_records")}
        finally:
            await conn.close()

    return asyncio.run(read())


@pytest.fixture
def pg_client(make_client: MakeClient, postgres_url: str) -> TestClient:
    return make_client(database_url=migrated(postgres_url), usage_flush_interval=0.1)


def post(client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    """POST ``body`` as ASCII JSON, with ``\\u0000``-style escapes as an attacker writes them."""
    content = json.dumps(body).encode()
    sent = {**(headers or {}), "content-type": "application/json"}
    return client.post(path, content=content, headers=sent)


def assert_refused(response: object) -> None:
    assert getattr(response, "status_code", None) == 422
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert detail.startswith("invalid request: ")


def test_unstorable_model_is_refused_and_later_requests_are_metered(
    pg_client: TestClient, postgres_url: str
) -> None:
    key = bearer(new_key(pg_client, Wallet().login(pg_client))["key"])
    for model in UNSTORABLE:
        assert_refused(post(pg_client, "/v1/chat/completions", {**CHAT, "model": model}))
        body = {**CHAT, "model": model, "stream": True}
        assert_refused(post(pg_client, "/api/v1/chat/completions", body, key))
    served = pg_client.post("/v1/chat/completions", json=CHAT)
    assert served.status_code == 200
    request_id = served.headers["x-request-id"]
    deadline = time.monotonic() + 30
    while request_id not in stored_ids(postgres_url):
        assert time.monotonic() < deadline, "a normal request after the refused one was not metered"
        time.sleep(0.1)


def test_unstorable_api_key_name_is_422(pg_client: TestClient) -> None:
    token = Wallet().login(pg_client)
    for name in ("a\u0000b", "a\udfffb"):
        assert_refused(post(pg_client, "/api/api-keys", {"name": name}, bearer(token)))
    assert new_key(pg_client, token, "a\u00e9\U0001f600b")["name"] == "a\u00e9\U0001f600b"


def test_an_id_no_key_can_have_is_404(pg_client: TestClient) -> None:
    token = Wallet().login(pg_client)
    for key_id in ("a%00b", "not-a-uuid"):
        response = pg_client.delete(f"/api/api-keys/{key_id}", headers=bearer(token))
        assert response.status_code == 404
        assert response.json() == {"detail": "API key not found"}


def test_a_chain_id_past_the_column_is_422(pg_client: TestClient) -> None:
    """Found by fuzzing: 2**63 overflowed PostgreSQL's bigint and answered 500."""
    wallet = Wallet()
    nonce = pg_client.get("/api/auth/nonce", params={"address": wallet.address, "chain_id": 2**63})
    assert_refused(nonce)
    body = {"address": wallet.address, "signature": "0x" + "00" * 65, "chain_id": 2**63}
    assert_refused(post(pg_client, "/api/auth/connect", body))
    assert wallet.challenge(pg_client, chain_id=2**53 - 1)
