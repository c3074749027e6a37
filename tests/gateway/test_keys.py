"""API keys: shown once, listed without the key, stored only as a hash, deactivation is final."""

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from computemesh.gateway.auth.api_keys import key_hash
from tests.gateway.conftest import Wallet, bearer, new_key

CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}


def test_created_key_has_the_ocf_proxy_shape_and_works(client: TestClient, wallet: Wallet) -> None:
    created = new_key(client, wallet.login(client), "My API Key")
    assert set(created) == {"id", "name", "key", "created_at", "last_used", "is_active"}
    assert created["key"].startswith("sk_rc_")
    assert len(created["key"]) >= len("sk_rc_") + 43  # 32 random bytes, base64url
    assert created["is_active"] is True
    assert created["last_used"] is None
    response = client.post("/api/v1/chat/completions", json=CHAT, headers=bearer(created["key"]))
    assert response.status_code == 200, response.text


def test_list_never_shows_the_key(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    created = new_key(client, token)
    listed = client.get("/api/api-keys", headers=bearer(token)).json()
    assert list(listed) == ["apiKeys"]
    [entry] = listed["apiKeys"]
    assert entry["id"] == created["id"]
    assert "key" not in entry
    assert created["key"] not in str(listed)


def test_only_a_hash_is_stored(client: TestClient, wallet: Wallet, sqlite_url: str) -> None:
    created = new_key(client, wallet.login(client))
    path = Path(sqlite_url.split("///", 1)[1])
    with sqlite3.connect(path) as db:
        dump = "\n".join(db.iterdump())
    assert created["key"] not in dump
    assert created["key"].removeprefix("sk_rc_") not in dump
    assert key_hash(created["key"]) in dump


def test_deactivated_key_is_refused_on_next_use(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    created = new_key(client, token)
    key = bearer(created["key"])
    assert client.post("/api/v1/chat/completions", json=CHAT, headers=key).status_code == 200
    deleted = client.delete(f"/api/api-keys/{created['id']}", headers=bearer(token))
    assert deleted.json() == {"success": True}
    refused = client.post("/api/v1/chat/completions", json=CHAT, headers=key)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "API key is deactivated"}
    listed = client.get("/api/api-keys", headers=bearer(token)).json()["apiKeys"]
    assert listed[0]["is_active"] is False


def test_last_used_is_kept_current(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    created = new_key(client, token)
    client.post("/api/v1/chat/completions", json=CHAT, headers=bearer(created["key"]))
    [entry] = client.get("/api/api-keys", headers=bearer(token)).json()["apiKeys"]
    assert entry["last_used"] is not None
    assert entry["last_used"] >= created["created_at"]


def test_someone_elses_key_cannot_be_deleted(client: TestClient, wallet: Wallet) -> None:
    created = new_key(client, wallet.login(client))
    other = Wallet().login(client)
    response = client.delete(f"/api/api-keys/{created['id']}", headers=bearer(other))
    assert response.status_code == 404
    assert client.delete("/api/api-keys/no-such-key", headers=bearer(other)).status_code == 404


def test_unknown_or_malformed_keys_are_401(client: TestClient) -> None:
    for key in ("sk_rc_" + "A" * 43, "not-a-key", ""):
        response = client.post("/api/v1/chat/completions", json=CHAT, headers=bearer(key))
        assert response.status_code == 401, key
    assert client.post("/api/v1/chat/completions", json=CHAT).status_code == 401


def test_key_endpoints_need_a_login_token_not_a_key(client: TestClient, wallet: Wallet) -> None:
    created = new_key(client, wallet.login(client))
    assert client.get("/api/api-keys", headers=bearer(created["key"])).status_code == 401
    assert client.get("/api/api-keys").status_code == 401
    assert client.post("/api/api-keys", json={"name": ""}, headers=bearer("x")).status_code in (
        401,
        422,
    )


def test_key_name_is_validated(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    assert client.post("/api/api-keys", json={}, headers=bearer(token)).status_code == 422
    assert client.post("/api/api-keys", json={"name": ""}, headers=bearer(token)).status_code == 422
