"""Usage metering: every request recorded once, streams included, written behind and on shutdown."""

import math
import sqlite3
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.gateway.conftest import MakeClient, Wallet, bearer, new_key
from tests.gateway.upstream import WORDS

PROMPT = "Hello, how are you?"
CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": PROMPT}]}


def rows(sqlite_url: str) -> list[dict[str, Any]]:
    with sqlite3.connect(Path(sqlite_url.split("///", 1)[1])) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM usage_records ORDER BY created_at")]


def stream(client: TestClient, body: dict[str, Any], key: dict[str, str]) -> None:
    with client.stream("POST", "/api/v1/chat/completions", json=body, headers=key) as response:
        assert response.status_code == 200
        response.read()


def test_usage_totals_per_key_model_and_day(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    first, second = new_key(client, token, "one"), new_key(client, token, "two")
    for _ in range(2):
        client.post("/api/v1/chat/completions", json=CHAT, headers=bearer(first["key"]))
    stream(client, {**CHAT, "stream": True}, bearer(second["key"]))
    usage = client.get("/api/usage", headers=bearer(token)).json()
    by_key = {row["api_key_id"]: row for row in usage["usage"]}
    assert by_key[first["id"]]["requests"] == 2
    assert by_key[first["id"]]["prompt_tokens"] == 2 * len(PROMPT.split())
    assert by_key[first["id"]]["completion_tokens"] == 2 * len(WORDS)
    assert by_key[second["id"]]["requests"] == 1
    assert by_key[second["id"]]["completion_tokens"] == len(WORDS)
    assert {row["model"] for row in usage["usage"]} == {"tiny-chat"}
    assert usage["total_requests"] == 3
    # Another user sees none of it.
    assert client.get("/api/usage", headers=bearer(Wallet().login(client))).json()["usage"] == []


def test_usage_filters_by_day(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    client.post(
        "/api/v1/chat/completions", json=CHAT, headers=bearer(new_key(client, token)["key"])
    )
    assert (
        client.get("/api/usage", params={"until": "2000-01-01"}, headers=bearer(token)).json()[
            "usage"
        ]
        == []
    )
    assert (
        client.get("/api/usage", params={"since": "2000-01-01"}, headers=bearer(token)).json()[
            "total_requests"
        ]
        == 1
    )
    assert (
        client.get("/api/usage", params={"since": "yesterday"}, headers=bearer(token)).status_code
        == 422
    )


def test_records_carry_node_status_latency_and_stream_flag(
    client: TestClient, wallet: Wallet, sqlite_url: str
) -> None:
    token = wallet.login(client)
    key = bearer(new_key(client, token)["key"])
    client.post("/api/v1/chat/completions", json=CHAT, headers=key)
    stream(client, {**CHAT, "stream": True}, key)
    client.post("/api/v1/chat/completions", json={**CHAT, "model": "broken"}, headers=key)
    client.get("/api/usage", headers=bearer(token))  # flushes
    plain, streamed, failed = rows(sqlite_url)
    assert plain["node"] == streamed["node"] == "12D3KooWTestUpstream"
    assert (plain["status"], streamed["status"], failed["status"]) == (200, 200, 502)
    assert (plain["streamed"], streamed["streamed"]) == (0, 1)
    assert plain["latency_ms"] > 0
    assert failed["prompt_tokens"] == failed["completion_tokens"] == 0


def test_tokens_are_counted_when_the_node_reports_none(
    client: TestClient, wallet: Wallet, sqlite_url: str
) -> None:
    token = wallet.login(client)
    key = bearer(new_key(client, token)["key"])
    body = {**CHAT, "model": "no-usage"}
    client.post("/api/v1/chat/completions", json=body, headers=key)
    stream(client, {**body, "stream": True}, key)
    client.get("/api/usage", headers=bearer(token))
    plain, streamed = rows(sqlite_url)
    estimated_prompt = math.ceil(len(PROMPT) / 4)
    assert plain["prompt_tokens"] == streamed["prompt_tokens"] == estimated_prompt
    assert plain["completion_tokens"] == math.ceil(len("".join(WORDS)) / 4)
    assert streamed["completion_tokens"] == len(WORDS)  # one token per content chunk


def test_legacy_requests_are_metered_without_an_account(
    client: TestClient, sqlite_url: str
) -> None:
    client.post("/v1/chat/completions", json=CHAT)
    client.get("/api/usage", headers=bearer(Wallet().login(client)))
    [record] = rows(sqlite_url)
    assert record["user_id"] is None
    assert record["completion_tokens"] == len(WORDS)


def test_shutdown_writes_what_is_pending(
    make_client: MakeClient, wallet: Wallet, sqlite_url: str
) -> None:
    client = make_client(usage_flush_interval=60)  # the timer never fires in this test
    key = bearer(new_key(client, wallet.login(client))["key"])
    for _ in range(5):
        client.post("/api/v1/chat/completions", json=CHAT, headers=key)
    stream(client, {**CHAT, "stream": True}, key)
    assert rows(sqlite_url) == []
    client.__exit__(None, None, None)  # lifespan shutdown
    assert len(rows(sqlite_url)) == 6
