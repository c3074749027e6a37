"""A gateway in front of a real node running the real llama.cpp engine (tiny GGUF chat model
and the packaged embeddings model) beside a service that is not ``llm``: the ``openai``
SDK on the legacy routes with any API key, and a model list whose tags the node honours."""

from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from computemesh.cli.localmesh import LocalNode, wait_until
from tests.fixtures.tiny_gguf import write_tiny_gguf
from tests.gateway import harness
from tests.gateway.conftest import MakeClient, Wallet, bearer, new_key

CHAT_MODEL = "tiny-chat"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
OTHER_SERVICE_MODEL = "triteia-model"
LIGHT = ("--threads", "1", "--parallel", "2", "--ctx-size", "512")
HELLO = [{"role": "user", "content": "Hello!"}]

StartGateway = Callable[..., harness.Process]
pytestmark = pytest.mark.slow


def _services_online(node: LocalNode) -> bool:
    services = [s for peer in node.table().values() for s in peer["service"]]
    return len(services) == 2 and all(s["status"] == "connected" for s in services)  # OCF's word


@pytest.fixture(scope="module")
def engine_node(
    tmp_path_factory: pytest.TempPathFactory, upstream: harness.Process
) -> Iterator[LocalNode]:
    root = tmp_path_factory.mktemp("engine-node")
    (root / "models").mkdir()
    write_tiny_gguf(root / "models" / f"{CHAT_MODEL}.gguf")
    args = ["--standalone", "--models-dir", str(root / "models"), "--embeddings", *LIGHT]
    # OCF's own example of a service other than llm, online (its server answers).
    args += ["--service", f"triteia={upstream.url}"]
    args += ["--identity-group", f"triteia:model={OTHER_SERVICE_MODEL}"]
    node = LocalNode(root / "node", args=args, env={"COMPUTEMESH_ENGINE__CACHE_DIR": str(root)})
    try:
        node.start().wait_healthy(120)
        assert wait_until(lambda: _services_online(node), 30), node.table()
        yield node
    finally:
        node.kill()


def _sdk(gateway: harness.Process, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=api_key, max_retries=0)


def test_legacy_routes_serve_the_openai_sdk_with_any_api_key(
    engine_node: LocalNode, start_gateway: StartGateway, sqlite_url: str
) -> None:
    gateway = start_gateway([engine_node.url], sqlite_url)
    # Not keys of this gateway: the SDK's placeholder, and one shaped like a key.
    for api_key in ("anything", "sk_rc_" + "x" * 43):
        sdk = _sdk(gateway, api_key)
        chat = sdk.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=3)
        assert chat.choices[0].finish_reason in ("length", "stop")
        assert len(sdk.embeddings.create(model=EMBEDDING_MODEL, input="hi").data) == 1
        assert {m.id for m in sdk.models.list()} >= {CHAT_MODEL, EMBEDDING_MODEL}


def test_legacy_routes_meter_a_key_to_its_owner_and_refuse_it_once_deactivated(
    engine_node: LocalNode, start_gateway: StartGateway, sqlite_url: str
) -> None:
    gateway = start_gateway([engine_node.url], sqlite_url)
    http = httpx.Client(base_url=gateway.url, timeout=60)
    token = Wallet().login(http)
    created = new_key(http, token)
    sdk = _sdk(gateway, created["key"])
    sdk.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=3)
    [row] = http.get("/api/usage", headers=bearer(token)).json()["usage"]
    assert (row["api_key_id"], row["model"], row["requests"]) == (created["id"], CHAT_MODEL, 1)

    http.delete(f"/api/api-keys/{created['id']}", headers=bearer(token)).raise_for_status()
    with pytest.raises(openai.AuthenticationError) as refused:
        sdk.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=3)
    assert refused.value.response.json() == {"detail": "API key is deactivated"}


def test_an_operator_can_still_require_keys_on_the_legacy_routes(
    engine_node: LocalNode, start_gateway: StartGateway, sqlite_url: str
) -> None:
    gateway = start_gateway([engine_node.url], sqlite_url, legacy_requires_key="true")
    with pytest.raises(openai.AuthenticationError) as refused:
        _sdk(gateway, "anything").models.list()
    assert refused.value.response.json() == {"detail": "invalid API key"}


def test_listed_models_are_tagged_by_what_the_node_serves_them_for(
    engine_node: LocalNode, make_client: MakeClient
) -> None:
    client: TestClient = make_client(ocf_head_url=[engine_node.url])
    models = client.get("/api/models/public").json()
    tags = {model["id"]: model["tags"] for model in models}
    # The triteia service's model is left out: the node's /v1/* routes never reach it.
    assert tags == {CHAT_MODEL: ["text-generation"], EMBEDDING_MODEL: ["embeddings"]}
    for model, [tag] in tags.items():
        if tag == "text-generation":
            body = {"model": model, "messages": HELLO, "max_tokens": 3}
            answer = client.post("/v1/chat/completions", json=body)
        else:
            answer = client.post("/v1/embeddings", json={"model": model, "input": "hi"})
        assert answer.status_code == 200, (model, answer.text)


def test_values_the_node_would_refuse_with_400_are_a_422_as_the_ocf_proxy_api_lists(
    engine_node: LocalNode, make_client: MakeClient
) -> None:
    client: TestClient = make_client(ocf_head_url=[engine_node.url])
    hot = {"model": CHAT_MODEL, "messages": HELLO, "temperature": 5}
    assert httpx.post(f"{engine_node.url}/v1/chat/completions", json=hot).status_code == 400
    for path, body in (
        ("/v1/chat/completions", hot),
        ("/v1/completions", {"model": CHAT_MODEL, "prompt": "x", "max_tokens": 0}),
        ("/v1/embeddings", {"model": EMBEDDING_MODEL, "input": []}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"].startswith("invalid request: ")
