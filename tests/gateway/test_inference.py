"""Forwarding to a node: JSON and SSE, every OpenAI route, legacy routes, honest upstream errors."""

import json
from typing import Any

from fastapi.testclient import TestClient

from computemesh.cli.localmesh import free_port
from tests.gateway import harness
from tests.gateway.conftest import MakeClient, Wallet, bearer, new_key
from tests.gateway.upstream import WORDS

CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hello, how are you?"}]}


def keyed(client: TestClient) -> dict[str, str]:
    wallet = Wallet()
    return bearer(new_key(client, wallet.login(client))["key"])


def sse_events(body: str) -> list[Any]:
    events = [line.removeprefix("data: ") for line in body.split("\n\n") if line.strip()]
    return [event if event == "[DONE]" else json.loads(event) for event in events]


def test_chat_is_forwarded_with_the_serving_node(client: TestClient) -> None:
    response = client.post("/api/v1/chat/completions", json=CHAT, headers=keyed(client))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "".join(WORDS)
    assert response.headers["x-computing-node"] == "12D3KooWTestUpstream"
    assert response.headers["x-request-id"]


def test_stream_passes_events_through_and_hides_the_usage_chunk(client: TestClient) -> None:
    with client.stream(
        "POST", "/api/v1/chat/completions", json={**CHAT, "stream": True}, headers=keyed(client)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "".join(WORDS)
    # The gateway asked the node for usage; the client did not, so it never sees that chunk.
    assert all(c["choices"] for c in chunks)


def test_stream_keeps_the_usage_chunk_when_the_client_asks(client: TestClient) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    with client.stream(
        "POST", "/api/v1/chat/completions", json=body, headers=keyed(client)
    ) as response:
        events = sse_events(response.read().decode())
    usage_chunks = [e for e in events[:-1] if not e["choices"]]
    assert usage_chunks[0]["usage"]["completion_tokens"] == len(WORDS)


def test_completions_embeddings_and_models(client: TestClient) -> None:
    key = keyed(client)
    completion = client.post(
        "/api/v1/completions",
        json={"model": "tiny-chat", "prompt": "The weather today is", "max_tokens": 5},
        headers=key,
    )
    assert completion.json()["choices"][0]["text"] == " sunny."
    embedding = client.post(
        "/api/v1/embeddings", json={"model": "tiny-embed", "input": ["a", "b"]}, headers=key
    )
    assert len(embedding.json()["data"]) == 2
    models = client.get("/api/v1/models", headers=key)
    assert [m["id"] for m in models.json()["data"]] == ["tiny-chat", "tiny-embed"]
    assert client.get("/api/v1/models").status_code == 401


def test_legacy_routes_are_open_as_in_the_ocf_proxy(client: TestClient) -> None:
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    completion = client.post("/v1/completions", json={"model": "tiny-chat", "prompt": "x"})
    assert completion.status_code == 200
    assert client.post("/v1/embeddings", json={"model": "e", "input": "x"}).status_code == 200
    assert client.get("/v1/models").status_code == 200


def test_legacy_routes_can_require_a_key(make_client: MakeClient) -> None:
    client = make_client(legacy_requires_key=True)
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 401
    assert client.get("/v1/models").status_code == 401
    assert client.post("/v1/chat/completions", json=CHAT, headers=keyed(client)).status_code == 200


def test_models_in_the_ocf_proxy_shape(client: TestClient, wallet: Wallet) -> None:
    public = client.get("/api/models/public")
    assert public.status_code == 200
    by_id = {m["id"]: m for m in public.json()}
    # Left out: the unhealthy service's model, and the one of a service that is not ``llm``.
    assert set(by_id) == {"tiny-chat", "tiny-embed"}
    chat = by_id["tiny-chat"]
    assert chat == {
        "id": "tiny-chat",
        "name": "tiny-chat",
        "description": "AI model available on 1x NVIDIA H100",
        "author": "0x00000000000000000000000000000000000000aa",
        "blockchain": "ethereum",
        "price": "0.1",
        "tags": ["text-generation"],
        "huggingFaceId": None,
    }
    assert by_id["tiny-embed"]["huggingFaceId"] == "org/tiny"
    assert by_id["tiny-embed"]["tags"] == ["embeddings"]
    assert client.get("/api/models").status_code == 401
    private = client.get("/api/models", headers=bearer(wallet.login(client)))
    assert private.json() == public.json()


def test_malformed_inference_bodies_are_422(client: TestClient) -> None:
    key = keyed(client)
    for bad in (
        {},
        {"model": "tiny-chat"},
        {"model": "tiny-chat", "messages": []},
        {"messages": []},
    ):
        response = client.post("/api/v1/chat/completions", json=bad, headers=key)
        assert response.status_code == 422, bad
        assert isinstance(response.json()["detail"], str)
    response = client.post(
        "/api/v1/chat/completions",
        content=b"not json",
        headers={**key, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert client.post("/api/v1/completions", json={"model": "m"}, headers=key).status_code == 422


def test_upstream_errors_keep_their_meaning(client: TestClient) -> None:
    key = keyed(client)
    missing = client.post(
        "/api/v1/chat/completions", json={**CHAT, "model": "missing"}, headers=key
    )
    assert missing.status_code == 404
    assert missing.json() == {"detail": "model 'missing' not found"}
    broken = client.post("/api/v1/chat/completions", json={**CHAT, "model": "broken"}, headers=key)
    assert broken.status_code == 502
    assert broken.json() == {"detail": "engine crashed"}


def test_no_reachable_node_is_502(make_client: MakeClient) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = make_client(ocf_head_url=[dead])
    response = client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 502
    assert response.json() == {"detail": "no node could be reached"}
    assert client.get("/api/models/public").status_code == 502


def test_a_dead_node_in_the_list_is_skipped(
    make_client: MakeClient, upstream: harness.Process
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = make_client(ocf_head_url=[dead, upstream.url])
    for _ in range(3):
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_unknown_routes_are_404_and_root_lists_the_ocf_proxy_endpoints(client: TestClient) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    root = client.get("/").json()
    assert root["message"] == "OpenAI Compatible Proxy Service"
    assert "DELETE /api/api-keys/{key_id}" in root["endpoints"]
    assert "POST /api/v1/completions" in root["endpoints"]
    assert client.get("/health").json() == {"status": "healthy", "service": "ocf-entry"}


def test_cors_allows_any_origin(client: TestClient) -> None:
    response = client.options(
        "/api/v1/chat/completions",
        headers={"origin": "https://app.example", "access-control-request-method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://app.example")


def test_a_body_over_the_limit_is_413_in_the_gateway_format(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=4096)
    headers = keyed(client)
    large = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    sized = client.post("/api/v1/chat/completions", json=large, headers=headers)
    unsized = client.post(
        "/api/v1/chat/completions",
        content=iter([json.dumps(large).encode()]),  # chunked: found while reading
        headers={**headers, "content-type": "application/json"},
    )
    for response in (sized, unsized):
        assert response.status_code == 413
        assert "4096 bytes" in response.json()["detail"]
    assert client.post("/api/v1/chat/completions", json=CHAT, headers=headers).status_code == 200
