"""Wallet login with real eth-account signatures: nonce, connect, JWT, and each way it fails."""

import time
from datetime import UTC, datetime, timedelta

import jwt
from fastapi.testclient import TestClient

from computemesh.gateway.auth.tokens import ISSUER
from tests.gateway import harness
from tests.gateway.conftest import MakeClient, Wallet, bearer


def test_login_returns_token_and_user_and_profile_works(client: TestClient, wallet: Wallet) -> None:
    response = client.post("/api/auth/connect", json=wallet.connect_body(client))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["address"] == wallet.address
    assert set(body["user"]) == {"id", "address", "created_at"}
    profile = client.get("/api/user/profile", headers=bearer(body["token"]))
    assert profile.status_code == 200
    assert profile.json() == body["user"]


def test_nonce_message_is_eip4361(client: TestClient, wallet: Wallet) -> None:
    message = wallet.challenge(client, chain_id=137)
    lines = message.splitlines()
    assert lines[0] == "testserver wants you to sign in with your Ethereum account:"
    assert lines[1] == wallet.address
    assert "Version: 1" in lines
    assert "Chain ID: 137" in lines
    assert any(line.startswith("Nonce: ") and len(line) >= 15 for line in lines)
    assert any(line.startswith("Expiration Time: ") for line in lines)


def test_second_login_finds_the_same_user(client: TestClient, wallet: Wallet) -> None:
    first = client.post("/api/auth/connect", json=wallet.connect_body(client)).json()
    second = client.post("/api/auth/connect", json=wallet.connect_body(client)).json()
    assert first["user"] == second["user"]


def test_replayed_signature_is_refused(client: TestClient, wallet: Wallet) -> None:
    body = wallet.connect_body(client)
    assert client.post("/api/auth/connect", json=body).status_code == 200
    replay = client.post("/api/auth/connect", json=body)
    assert replay.status_code == 401
    assert "detail" in replay.json()


def test_signature_from_another_wallet_is_refused(client: TestClient, wallet: Wallet) -> None:
    intruder = Wallet()
    message = wallet.challenge(client)
    body = {"address": wallet.address, "signature": intruder.sign(message), "chain_id": 1}
    assert client.post("/api/auth/connect", json=body).status_code == 401


def test_signature_without_a_nonce_is_refused(client: TestClient, wallet: Wallet) -> None:
    # OCF's fixed message, with no nonce: exactly what must no longer work.
    ocf_message = "Welcome to OCF! Sign this message to authenticate your wallet.\n\nChain ID: 1"
    body = {"address": wallet.address, "signature": wallet.sign(ocf_message), "chain_id": 1}
    assert client.post("/api/auth/connect", json=body).status_code == 401


def test_other_chain_id_than_signed_is_refused(client: TestClient, wallet: Wallet) -> None:
    body = wallet.connect_body(client, chain_id=1)
    body["chain_id"] = 5
    assert client.post("/api/auth/connect", json=body).status_code == 401


def test_expired_nonce_is_refused(make_client: MakeClient, wallet: Wallet) -> None:
    client = make_client(nonce_ttl=0.001)
    body = wallet.connect_body(client)
    time.sleep(0.01)  # past the 1 ms the message was valid for
    response = client.post("/api/auth/connect", json=body)
    assert response.status_code == 401


def test_expired_jwt_is_refused(client: TestClient, wallet: Wallet) -> None:
    user_id = client.post("/api/auth/connect", json=wallet.connect_body(client)).json()["user"][
        "id"
    ]
    past = datetime.now(UTC) - timedelta(days=2)
    claims = {"sub": user_id, "iss": ISSUER, "iat": past, "exp": past + timedelta(minutes=1)}
    expired = jwt.encode(claims, harness.DEV_SECRET, algorithm="HS256")
    response = client.get("/api/user/profile", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json() == {"detail": "token expired"}


def test_jwt_signed_with_another_secret_is_refused(client: TestClient, wallet: Wallet) -> None:
    user_id = client.post("/api/auth/connect", json=wallet.connect_body(client)).json()["user"][
        "id"
    ]
    now = datetime.now(UTC)
    claims = {"sub": user_id, "iss": ISSUER, "iat": now, "exp": now + timedelta(hours=1)}
    forged = jwt.encode(claims, "x" * 48, algorithm="HS256")
    assert client.get("/api/user/profile", headers=bearer(forged)).status_code == 401


def test_jwt_lifetime_follows_the_setting(make_client: MakeClient, wallet: Wallet) -> None:
    client = make_client(access_token_expire_minutes=1440)
    token = wallet.login(client)
    claims = jwt.decode(token, harness.DEV_SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == 1440 * 60


def test_profile_needs_a_token(client: TestClient) -> None:
    response = client.get("/api/user/profile")
    assert response.status_code == 401
    assert response.json() == {"detail": "missing bearer credentials"}


def test_malformed_connect_bodies_are_422(client: TestClient, wallet: Wallet) -> None:
    good = wallet.connect_body(client)
    for bad in (
        {},
        {**good, "address": "0x123"},
        {**good, "signature": "0xzz"},
        {**good, "chain_id": "one"},
    ):
        response = client.post("/api/auth/connect", json=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"].startswith("invalid request")
    not_json = client.post(
        "/api/auth/connect", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
