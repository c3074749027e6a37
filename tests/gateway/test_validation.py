"""Out-of-range values get the OCF proxy's 422 ``{"detail": "invalid request: <field>: ..."}`` on
every gateway route that takes input, before anything reaches a node."""

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.gateway.conftest import Wallet, bearer, new_key
from tests.gateway.upstream import build

CHAT: dict[str, Any] = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}
COMPLETION: dict[str, Any] = {"model": "tiny-chat", "prompt": "The weather today is"}
EMBEDDING: dict[str, Any] = {"model": "tiny-embed", "input": "hi"}
SAMPLING_OUT_OF_RANGE = [
    ("temperature", 5),
    ("temperature", -0.1),
    ("top_p", 1.5),
    ("max_tokens", 0),
    ("frequency_penalty", -3),
    ("presence_penalty", 2.5),
    ("stop", ["a", "b", "c", "d", "e"]),
]
OUT_OF_RANGE = [
    *[
        ("/v1/chat/completions", {**CHAT, name: value}, name)
        for name, value in SAMPLING_OUT_OF_RANGE
    ],
    *[("/v1/completions", {**COMPLETION, name: v}, name) for name, v in SAMPLING_OUT_OF_RANGE],
    ("/v1/chat/completions", {**CHAT, "messages": [{"role": "wizard", "content": "x"}]}, "role"),
    ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user"}]}, "content"),
    ("/v1/completions", {**COMPLETION, "prompt": ""}, "prompt"),
    ("/v1/embeddings", {**EMBEDDING, "input": []}, "input"),
    ("/v1/embeddings", {**EMBEDDING, "encoding_format": "hex"}, "encoding_format"),
]


def test_the_test_upstream_itself_takes_these_values() -> None:
    """So a 200 before the gateway checked them is what the tests below would have seen."""
    upstream = TestClient(build("12D3KooWTestUpstream"))
    assert upstream.post("/v1/chat/completions", json={**CHAT, "temperature": 5}).status_code == 200


@pytest.mark.parametrize(("path", "body", "field"), OUT_OF_RANGE)
def test_inference_values_out_of_range_are_422(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    key = bearer(new_key(client, Wallet().login(client))["key"])
    for route, headers in ((path, {}), ("/api" + path, key)):
        response = client.post(route, json=body, headers=headers)
        assert response.status_code == 422, (route, body, response.text)
        detail = response.json()["detail"]
        assert detail.startswith("invalid request: ")
        assert field in detail


def test_in_range_values_still_pass(client: TestClient) -> None:
    edges = {"temperature": 2, "top_p": 0, "max_tokens": 1, "presence_penalty": -2, "stop": "x"}
    assert client.post("/v1/chat/completions", json={**CHAT, **edges}).status_code == 200
    assert client.post("/v1/completions", json={**COMPLETION, **edges}).status_code == 200


def test_account_values_out_of_range_are_422(client: TestClient, wallet: Wallet) -> None:
    token = wallet.login(client)
    nonce = "/api/auth/nonce"
    refused: list[httpx.Response] = [
        client.get(nonce, params={"address": wallet.address, "chain_id": 0}),
        client.get(nonce, params={"address": wallet.address, "chain_id": 2**53}),
        client.post("/api/auth/connect", json={**wallet.connect_body(client), "chain_id": 0}),
        client.post("/api/api-keys", json={"name": "x" * 201}, headers=bearer(token)),
        client.get("/api/usage", params={"since": "2026-02-30"}, headers=bearer(token)),
        client.get("/api/usage", params={"until": "2026-13-01"}, headers=bearer(token)),
    ]
    for response in refused:
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.json()["detail"].startswith("invalid request: ")
    assert client.get("/api/usage", params={"since": "2024-02-29"}, headers=bearer(token)).json()
