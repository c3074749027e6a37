"""Real gateway processes: the OCF proxy API's flow through the official openai SDK on SQLite and
PostgreSQL, start-up refusals, and a clean stop that writes pending usage."""

import signal
from collections.abc import Callable

import httpx
import openai
import pytest

from tests.gateway import harness
from tests.gateway.conftest import Wallet, bearer, new_key
from tests.gateway.upstream import WORDS

StartGateway = Callable[..., harness.Process]


def ocf_proxy_flow(gateway_url: str) -> None:
    """nonce → connect → profile → key → chat via the openai SDK → list → delete → 401."""
    http = httpx.Client(base_url=gateway_url, timeout=30)
    wallet = Wallet()
    login = http.post("/api/auth/connect", json=wallet.connect_body(http)).json()
    token = login["token"]
    assert http.get("/api/user/profile", headers=bearer(token)).json() == login["user"]
    created = new_key(http, token, "My App API Key")

    sdk = openai.OpenAI(base_url=f"{gateway_url}/api/v1", api_key=created["key"], max_retries=0)
    chat = sdk.chat.completions.create(
        model="tiny-chat", messages=[{"role": "user", "content": "Hello!"}], max_tokens=100
    )
    assert chat.choices[0].message.content == "".join(WORDS)
    assert chat.usage is not None
    assert chat.usage.completion_tokens == len(WORDS)
    streamed = sdk.chat.completions.create(
        model="tiny-chat", messages=[{"role": "user", "content": "Hello!"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "".join(
        WORDS
    )
    completion = sdk.completions.create(model="tiny-chat", prompt="The weather today is")
    assert completion.choices[0].text == " sunny."
    assert len(sdk.embeddings.create(model="tiny-embed", input="hi").data) == 1
    assert [m.id for m in sdk.models.list()] == ["tiny-chat", "tiny-embed"]

    [listed] = http.get("/api/api-keys", headers=bearer(token)).json()["apiKeys"]
    assert listed["id"] == created["id"]
    assert "key" not in listed
    assert http.delete(f"/api/api-keys/{created['id']}", headers=bearer(token)).json() == {
        "success": True
    }
    with pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(model="tiny-chat", messages=[{"role": "user", "content": "x"}])
    usage = http.get("/api/usage", headers=bearer(token)).json()
    assert usage["total_requests"] == 4  # chat, stream, completion, embedding


def test_ocf_proxy_flow_on_sqlite(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    ocf_proxy_flow(start_gateway([upstream.url], sqlite_url).url)


def test_ocf_proxy_flow_on_postgres(
    start_gateway: StartGateway, upstream: harness.Process, postgres_url: str
) -> None:
    harness.migrate(postgres_url)
    ocf_proxy_flow(start_gateway([upstream.url], postgres_url).url)


def test_unmigrated_postgres_is_refused(
    start_gateway: StartGateway, upstream: harness.Process, postgres_url: str
) -> None:
    with pytest.raises(RuntimeError, match="gateway migrate"):
        start_gateway([upstream.url], postgres_url)


def test_placeholder_secret_is_refused_unless_dev(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    for secret in ("your-secret-key-here-change-in-production", "changeme", ""):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            start_gateway([upstream.url], sqlite_url, SECRET_KEY=secret)
    dev = start_gateway([upstream.url], sqlite_url, SECRET_KEY="", dev="true")
    assert httpx.get(dev.url + "/health").status_code == 200


def test_sigterm_writes_pending_usage(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([upstream.url], sqlite_url, usage_flush_interval="60")
    chat = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}
    ids = {
        httpx.post(gateway.url + "/v1/chat/completions", json=chat).headers["x-request-id"]
        for _ in range(10)
    }
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status says why.
    assert gateway.stop() in (0, -signal.SIGTERM)
    assert harness.stored_usage_ids(sqlite_url) == ids
