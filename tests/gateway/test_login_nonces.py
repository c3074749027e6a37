"""Login messages: a wallet's unexpired message stays valid whatever others ask for, and
issuing them is limited per client and per address (429 with Retry-After)."""

import time

from fastapi.testclient import TestClient

from tests.gateway.conftest import MakeClient, Wallet


def later() -> None:
    """Let the next messages expire after the ones before (expiry times are whole seconds)."""
    time.sleep(1.1)


def ask(client: TestClient, address: str) -> int:
    return client.get("/api/auth/nonce", params={"address": address}).status_code


def sign_in_with(client: TestClient, wallet: Wallet, message: str) -> int:
    body = {"address": wallet.address, "signature": wallet.sign(message), "chain_id": 1}
    return client.post("/api/auth/connect", json=body).status_code


def test_others_asking_for_messages_do_not_lock_a_wallet_out(
    client: TestClient, wallet: Wallet
) -> None:
    """The attack as filed: 5 messages asked for the victim's address, with default limits."""
    message = wallet.challenge(client)
    later()
    assert [ask(client, wallet.address) for _ in range(5)] == [200] * 5
    assert sign_in_with(client, wallet, message) == 200


def test_every_unexpired_message_stays_valid(make_client: MakeClient, wallet: Wallet) -> None:
    client = make_client(nonce_ip_rpm=0, nonce_address_rpm=0)
    first = wallet.challenge(client)
    later()
    for _ in range(30):
        assert ask(client, wallet.address) == 200
    assert sign_in_with(client, wallet, first) == 200
    assert sign_in_with(client, wallet, first) == 401  # still single use


def test_messages_are_limited_per_client(make_client: MakeClient) -> None:
    client = make_client(nonce_ip_rpm=3, nonce_address_rpm=0)
    assert [ask(client, Wallet().address) for _ in range(3)] == [200] * 3
    refused = client.get("/api/auth/nonce", params={"address": Wallet().address})
    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many login messages asked for; retry later"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_messages_are_limited_per_address(make_client: MakeClient, wallet: Wallet) -> None:
    client = make_client(nonce_ip_rpm=0, nonce_address_rpm=2)
    assert [ask(client, wallet.address) for _ in range(2)] == [200, 200]
    # The same address in lower case is the same wallet.
    refused = client.get("/api/auth/nonce", params={"address": wallet.address.lower()})
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
    assert ask(client, Wallet().address) == 200  # another wallet has its own budget
