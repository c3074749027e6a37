"""The gateway's ``/metrics``: what it counts, that no secret is a label, who may read it."""

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway import harness
from tests.gateway.conftest import MakeClient, Wallet, bearer, new_key

StartGateway = Callable[..., harness.Process]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ADMIN = "metrics-admin-token-6f1c2b9a"
PROMPT = "PROMPT-MARKER-never-a-label"
CHAT_ROUTE = "/api/v1/chat/completions"
N = 3


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """The sample ``computemesh_gateway_<name>`` with exactly ``labels`` (0 when absent)."""
    return found.get((f"computemesh_gateway_{name}", frozenset(labels.items())), 0.0)


def chat(model: str = "tiny-chat") -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": PROMPT}]}


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers=bearer(ADMIN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_requests_and_tokens_per_key_and_model_with_no_secret_in_labels(
    make_client: MakeClient,
) -> None:
    client = make_client(admin_token=ADMIN)
    token = Wallet().login(client)
    created = new_key(client, token)
    key = bearer(created["key"])
    for _ in range(N):
        assert client.post(CHAT_ROUTE, json=chat(), headers=key).status_code == 200
    made_up = client.post(CHAT_ROUTE, json=chat("my-own-model-name"), headers=key)
    assert made_up.status_code == 200  # the test node answers any model; the label stays closed

    text = scrape(client)
    found = samples(text)
    kid = created["id"]
    assert value(found, "http_requests_total", route=CHAT_ROUTE, status="200") == N + 1
    assert value(found, "key_requests_total", api_key_id=kid, status="200") == N + 1
    assert value(found, "model_requests_total", model="tiny-chat", status="200") == N
    assert value(found, "model_requests_total", model="other", status="200") == 1
    # The test node's answer is nine tokens long.
    assert value(found, "model_tokens_total", model="tiny-chat", kind="completion") == N * 9
    assert value(found, "key_tokens_total", api_key_id=kid, kind="prompt") > 0
    assert ("computemesh_gateway_usage_pending", frozenset()) in found
    # No key, token, prompt or made-up model in any label value, nor anywhere in the text.
    labels = {label for _, pairs in found for _, label in pairs}
    for secret in (created["key"], token, ADMIN, PROMPT, "my-own-model-name"):
        assert all(secret not in label for label in labels), secret
        assert secret not in text


def test_rate_limit_refusals_and_upstream_errors_are_counted(make_client: MakeClient) -> None:
    client = make_client(admin_token=ADMIN, key_rpm=2)
    key = bearer(new_key(client, Wallet().login(client))["key"])
    statuses = [
        client.post(CHAT_ROUTE, json=chat(model), headers=key).status_code
        for model in ("broken", "tiny-chat", "tiny-chat")
    ]
    assert statuses == [502, 200, 429]
    found = samples(scrape(client))
    assert value(found, "rate_limit_refusals_total", route=CHAT_ROUTE) == 1
    assert value(found, "errors_total", kind="upstream") == 1
    assert value(found, "errors_total", kind="database") == 0


def test_metrics_off_loopback_need_the_admin_token(make_client: MakeClient) -> None:
    # The TestClient's caller is "testclient", not a loopback address.
    client = make_client(admin_token=ADMIN)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers=bearer("wrong-token")).status_code == 403
    assert client.get("/metrics", headers=bearer(ADMIN)).status_code == 200
    assert make_client().get("/metrics").status_code == 403  # no admin token set: none works


def test_several_apps_in_one_process_count_apart(make_client: MakeClient) -> None:
    first, second = make_client(admin_token=ADMIN), make_client(admin_token=ADMIN)
    first.get("/health")
    found = samples(scrape(second))
    assert value(found, "http_requests_total", route="/health", status="200") == 0


def test_a_gateway_process_passes_the_request_id_to_its_node_and_logs_it(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([upstream.url], sqlite_url, log_format="json", access_log="true")
    http = httpx.Client(base_url=gateway.url, timeout=30)
    headers = {"X-Request-Id": "gw-trace-4711"}
    answer = http.post("/v1/chat/completions", json=chat(), headers=headers)
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "gw-trace-4711"
    assert upstream_saw(upstream.log, "gw-trace-4711")
    # From loopback, /metrics needs no token; the request was counted.
    found = samples(http.get("/metrics").text)
    assert value(found, "http_requests_total", route="/v1/chat/completions", status="200") == 1
    lines = [json.loads(line) for line in gateway.tail(200).splitlines() if line.startswith("{")]
    assert any(line["request_id"] == "gw-trace-4711" for line in lines), gateway.tail()


def upstream_saw(log: Path, request_id: str) -> bool:
    return f"x-request-id={request_id}" in log.read_text(errors="replace")
