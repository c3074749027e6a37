"""``/metrics`` of real node processes, read with prometheus_client's parser, and one
request id across hops.

A three-node mesh: ``provider`` serves the tiny chat models, ``entry`` and
``bystander`` serve none. Requests sent to ``entry`` are answered by ``provider``, so
their counts must move there and at ``entry``, by exactly the number sent, and
nowhere at ``bystander``. Every node logs JSON lines with an access line per request.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from computemesh.cli.localmesh import LocalNode, wait_until
from tests.openai_surface.conftest import CONVERGE_S, LIGHT

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
OBSERVED = ("--log-format", "json", "--access-log", "--log-level", "INFO")
MODEL = "tiny-chat"
MAX_TOKENS = 4
PLAIN, STREAMED = 3, 2
SECRET_KEY = "sk-live-SECRET-4b1d9c"
PROMPT = "PROMPT-MARKER-never-a-label"
MADE_UP = "made-up-model-zz"
CHAT_ROUTE = "/v1/chat/completions"
SERVICE_ROUTE = "/v1/_service/{service}/{path:path}"


@dataclass
class Mesh3:
    provider: LocalNode
    entry: LocalNode
    bystander: LocalNode

    @property
    def nodes(self) -> list[LocalNode]:
        return [self.provider, self.entry, self.bystander]


def _all_see_the_model(mesh: Mesh3) -> bool:
    def sees(node: LocalNode) -> bool:
        models = httpx.get(f"{node.url}/v1/models", timeout=5).json()["data"]
        return MODEL in {m["id"] for m in models} and len(node.online_ids()) == 3

    return all(sees(node) for node in mesh.nodes)


@pytest.fixture(scope="module")
def mesh3(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Mesh3]:
    root = tmp_path_factory.mktemp("metrics")
    provider = LocalNode(root / "provider", args=["--public-addr", "127.0.0.1", *OBSERVED])
    provider.args += ["--models-dir", str(models_dir), *LIGHT]
    nodes = [provider]
    try:
        provider.start().wait_healthy(60)
        bootstrap = ["--bootstrap", provider.bootstrap_addr(), *OBSERVED]
        entry = LocalNode(root / "entry", args=bootstrap)
        bystander = LocalNode(root / "bystander", args=bootstrap)
        nodes += [entry, bystander]
        for node in (entry, bystander):
            node.start().wait_healthy(60)
        mesh = Mesh3(provider, entry, bystander)
        assert wait_until(lambda: _all_see_the_model(mesh), CONVERGE_S)
        yield mesh
    finally:
        for node in nodes:
            node.kill()


def scrape(node: LocalNode) -> tuple[str, Samples]:
    response = httpx.get(f"{node.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    found = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((f"computemesh_{name}", frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def client(node: LocalNode, api_key: str = "unused") -> OpenAI:
    return OpenAI(base_url=f"{node.url}/v1", api_key=api_key, max_retries=0, timeout=60)


def ask(node: LocalNode) -> None:
    sdk = client(node)
    question = [{"role": "user", "content": "Say something"}]
    for _ in range(PLAIN):
        sdk.chat.completions.create(model=MODEL, messages=question, max_tokens=MAX_TOKENS)
    for _ in range(STREAMED):
        stream = sdk.chat.completions.create(
            model=MODEL, messages=question, max_tokens=MAX_TOKENS, stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_counts_move_by_the_requests_sent_at_the_nodes_that_served_them(mesh3: Mesh3) -> None:
    before = {id(node): scrape(node)[1] for node in mesh3.nodes}
    ask(mesh3.entry)
    after = {id(node): scrape(node)[1] for node in mesh3.nodes}
    sent = PLAIN + STREAMED

    entry = (before[id(mesh3.entry)], after[id(mesh3.entry)])
    request = {"channel": "client", "surface": "openai", "route": CHAT_ROUTE, "status": "200"}
    assert moved(*entry, "http_requests_total", **request) == sent
    forwarded = {"service": "llm", "model": MODEL, "outcome": "served", "provider": "remote"}
    assert moved(*entry, "forwarded_requests_total", **forwarded) == sent
    per_model = {"model": MODEL}
    assert moved(*entry, "forward_first_byte_seconds_count", service="llm", **per_model) == sent
    assert moved(*entry, "inference_duration_seconds_count", **per_model) == sent
    assert moved(*entry, "inference_tokens_per_second_count", **per_model) == sent
    assert moved(*entry, "inference_first_token_seconds_count", **per_model) == STREAMED
    tokens = moved(*entry, "inference_tokens_total", model=MODEL, kind="completion")
    assert tokens == sent * MAX_TOKENS

    provider = (before[id(mesh3.provider)], after[id(mesh3.provider)])
    served = {"channel": "mesh", "surface": "ocf", "route": SERVICE_ROUTE, "status": "200"}
    assert moved(*provider, "http_requests_total", **served) == sent
    assert moved(*provider, "engine_generated_tokens_total", **per_model) == sent * MAX_TOKENS
    assert moved(*provider, "engine_prompt_tokens_total", **per_model) > 0
    assert value(provider[1], "engine_model_load_seconds", **per_model) > 0
    assert value(provider[1], "engine_busy_slots", **per_model) == 0
    assert moved(*provider, "forwarded_requests_total", **forwarded) == 0  # the entry routed

    bystander = (before[id(mesh3.bystander)], after[id(mesh3.bystander)])
    assert moved(*bystander, "http_requests_total", **served) == 0
    assert moved(*bystander, "http_requests_total", **request) == 0

    for node in mesh3.nodes:
        found = after[id(node)]
        assert value(found, "table_nodes") == 3
        assert value(found, "table_nodes_online") == 3
        assert value(found, "peers_connected", connection="direct") >= 1
        assert value(found, "gossip_messages_total", direction="out") >= 1
        assert ("computemesh_event_loop_lag_seconds", frozenset()) in found


def test_a_request_served_by_the_node_itself_counts_as_local(mesh3: Mesh3) -> None:
    _, before = scrape(mesh3.provider)
    question = [{"role": "user", "content": "hi"}]
    for _ in range(2):
        client(mesh3.provider).chat.completions.create(model=MODEL, messages=question, max_tokens=2)
    _, after = scrape(mesh3.provider)
    local = {"service": "llm", "model": MODEL, "outcome": "served", "provider": "local"}
    assert moved(before, after, "forwarded_requests_total", **local) == 2
    assert moved(before, after, "inference_duration_seconds_count", model=MODEL) == 2


def test_no_secret_prompt_id_or_free_name_in_any_label(mesh3: Mesh3) -> None:
    marked = {"X-Request-Id": "trace-marker-9f3e"}
    sdk = OpenAI(
        base_url=f"{mesh3.entry.url}/v1", api_key=SECRET_KEY, max_retries=0, default_headers=marked
    )
    question = [{"role": "user", "content": PROMPT}]
    sdk.chat.completions.create(model=MODEL, messages=question, max_tokens=2)
    unknown = httpx.post(
        f"{mesh3.entry.url}{CHAT_ROUTE}",
        json={"model": MADE_UP, "messages": question},
        headers={"Authorization": f"Bearer {SECRET_KEY}", **marked},
    )
    assert unknown.status_code == 404
    routed = httpx.post(
        f"{mesh3.entry.url}/v1/service/llm{CHAT_ROUTE}",
        json={"model": MADE_UP, "messages": question},
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
    )
    assert routed.status_code == 503
    made_up_service = httpx.post(f"{mesh3.entry.url}/v1/service/{MADE_UP}/x", json={})
    assert made_up_service.status_code == 503

    for node in mesh3.nodes:
        text, found = scrape(node)
        labels = {label for _, pairs in found for _, label in pairs}
        for secret in (SECRET_KEY, "Bearer", PROMPT, "trace-marker-9f3e", MADE_UP):
            assert all(secret not in label for label in labels), (secret, node.data_dir.name)
            assert secret not in text
    _, entry = scrape(mesh3.entry)
    failed = {"outcome": "failed", "provider": "none"}
    assert value(entry, "forwarded_requests_total", service="llm", model="other", **failed) == 1
    assert value(entry, "forwarded_requests_total", service="other", model="none", **failed) == 1


def json_lines(node: LocalNode) -> list[dict[str, object]]:
    path = node.data_dir.parent / f"{node.data_dir.name}.log"
    lines = path.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def logged(node: LocalNode, request_id: str) -> bool:
    return any(line["request_id"] == request_id for line in json_lines(node))


def test_one_request_id_across_two_nodes_in_their_json_logs(mesh3: Mesh3) -> None:
    answer = httpx.post(
        f"{mesh3.entry.url}{CHAT_ROUTE}",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
        headers={"X-Request-Id": "client-chosen-id-42"},
        timeout=60,
    )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "client-chosen-id-42"
    assert answer.headers["x-computing-node"] == mesh3.provider.peer_id
    for node in (mesh3.entry, mesh3.provider):
        assert wait_until(lambda n=node: logged(n, "client-chosen-id-42"), 5), node.log_tail()
    assert not logged(mesh3.bystander, "client-chosen-id-42")

    # No id, or one that could split a log line: the entry makes one, and it travels too.
    for headers in ({}, {"X-Request-Id": "two words"}):
        made = httpx.post(
            f"{mesh3.entry.url}/v1/service/llm{CHAT_ROUTE}",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
            headers=headers,
            timeout=60,
        )
        assert made.status_code == 200
        request_id = made.headers["x-request-id"]
        assert request_id
        assert request_id != "two words"
        for node in (mesh3.entry, mesh3.provider):
            assert wait_until(lambda n=node, i=request_id: logged(n, i), 5), node.log_tail()
