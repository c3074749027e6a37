"""JSON bodies are read whatever their label says: ``curl -d``, ``requests``' ``data=``, Go."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.gateway.conftest import Wallet, bearer

CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hello"}]}
# curl -d's label, requests' data= label for a str, a Go client's, and none at all
LABELS = ["application/x-www-form-urlencoded", "text/plain; charset=utf-8", None]


def post(client: TestClient, path: str, body: Any, label: str | None, **headers: str) -> Any:
    sent = {**headers, **({"content-type": label} if label else {})}
    response = client.post(path, content=json.dumps(body).encode(), headers=sent)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("label", LABELS)
def test_login_keys_and_inference_read_unlabelled_json(client: TestClient, label: str) -> None:
    wallet = Wallet()
    token = post(client, "/api/auth/connect", wallet.connect_body(client), label)["token"]
    key = post(client, "/api/api-keys", {"name": "curl"}, label, **bearer(token))["key"]
    answer = post(client, "/api/v1/chat/completions", CHAT, label, **bearer(key))
    assert answer["choices"][0]["message"]["content"]
    assert post(client, "/v1/chat/completions", CHAT, label)["object"] == "chat.completion"


def test_a_body_that_is_not_json_is_still_refused(client: TestClient) -> None:
    label = {"content-type": "application/x-www-form-urlencoded"}
    response = client.post("/v1/chat/completions", content=b"model=tiny-chat", headers=label)
    assert response.status_code == 422
