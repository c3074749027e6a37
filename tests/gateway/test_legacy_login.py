"""OCF's fixed login message, as its old frontends sign it (eth-account, personal_sign):
refused with a 401 that says what to sign instead, accepted (and logged) only when the
operator turns the migration setting on; the nonce flow works either way."""

from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient

from tests.gateway import harness
from tests.gateway.conftest import Wallet, bearer

StartGateway = Callable[..., harness.Process]


def ocf_body(wallet: Wallet, chain_id: int = 1) -> dict[str, object]:
    """What an OCF frontend posts: its fixed message, signed, with no nonce asked for."""
    message = (
        f"Welcome to OCF! Sign this message to authenticate your wallet.\n\nChain ID: {chain_id}"
    )
    return {"address": wallet.address, "signature": wallet.sign(message), "chain_id": chain_id}


def test_ocf_message_is_refused_with_what_to_do_instead(client: TestClient, wallet: Wallet) -> None:
    response = client.post("/api/auth/connect", json=ocf_body(wallet))
    assert response.status_code == 401
    detail = response.json()["detail"]
    for says in ("Welcome to OCF!", "replayed", "GET /api/auth/nonce", "sign the `message`"):
        assert says in detail
    # The way it names works as written.
    assert client.post("/api/auth/connect", json=wallet.connect_body(client)).status_code == 200


def test_any_other_mismatch_also_points_to_the_nonce(client: TestClient, wallet: Wallet) -> None:
    body = {"address": wallet.address, "signature": wallet.sign("something else"), "chain_id": 1}
    response = client.post("/api/auth/connect", json=body)
    assert response.status_code == 401
    assert "GET /api/auth/nonce" in response.json()["detail"]


def test_ocf_message_is_accepted_during_a_migration_and_each_use_logged(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([upstream.url], sqlite_url, accept_legacy_login_message="true")
    http = httpx.Client(base_url=gateway.url, timeout=30)
    wallet = Wallet()
    assert "OCF's fixed 'Welcome to OCF!' message are accepted" in gateway.tail()
    for chain_id in (1, 137, 137):  # the same signature again: replayable, as it always was
        login = http.post("/api/auth/connect", json=ocf_body(wallet, chain_id))
        assert login.status_code == 200, login.text
        profile = http.get("/api/user/profile", headers=bearer(login.json()["token"]))
        assert profile.json()["address"] == wallet.address
    # A message signed for one chain does not log in on another.
    moved = {**ocf_body(wallet, 1), "chain_id": 5}
    assert http.post("/api/auth/connect", json=moved).status_code == 401
    assert http.post("/api/auth/connect", json=wallet.connect_body(http)).status_code == 200
    gateway.stop()
    uses = [
        line for line in gateway.tail(200).splitlines() if "replayable message accepted" in line
    ]
    assert len(uses) == 3
    assert all(wallet.address in line for line in uses)


def test_the_default_start_says_nothing_of_the_ocf_message(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([upstream.url], sqlite_url)
    gateway.stop()
    assert "Welcome to OCF" not in gateway.tail()
