"""Forwarding across real node processes to real upstream HTTP servers on 127.0.0.1."""

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
import trio

from computemesh.cli.localmesh import LocalNode, wait_until
from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess, upstream

CONVERGE_S = 30.0


def provider(start_node: StartNode, entry: LocalNode, url: str, model: str) -> LocalNode:
    return start_node(
        "--bootstrap", entry.bootstrap_addr(),
        "--service", f"llm={url}", "--identity-group", f"llm:model={model}",
    )  # fmt: skip


def sees_services(node: LocalNode, count: int) -> bool:
    return sum(len(entry["service"]) for entry in node.table().values()) == count


def raw_get(node: LocalNode, path: str) -> tuple[int, dict[str, object]]:
    """A request whose path reaches the node byte for byte (httpx would normalize it)."""
    connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_forward_by_peer_id_reaches_only_the_peer_safe_router(start_node: StartNode) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    peer = start_node("--bootstrap", entry.bootstrap_addr())
    assert wait_until(lambda: len(entry.table()) == 2, CONVERGE_S)
    base = f"{entry.url}/v1/p2p/{peer.peer_id}"

    assert httpx.get(f"{base}/v1/health").json() == {"status": "ok"}
    assert f"/{peer.peer_id}" in httpx.get(f"{base}/v1/dnt/table").json()
    for method in ("POST", "DELETE", "PATCH"):
        refused = httpx.request(method, f"{base}/v1/dnt/_node", json={"owner": "0xevil"})
        assert refused.status_code in (404, 405), refused.text
    assert peer.table()[f"/{peer.peer_id}"]["owner"] == ""
    # A peer cannot use this node as a relay into the rest of the mesh either.
    bounced = httpx.get(f"{base}/v1/p2p/{entry.peer_id}/v1/health")
    assert bounced.status_code == 404

    stranger = "12D3KooWJ5EYrFNLAeUKs1vu2AmaU9X5XRGK9tC5uYcmAiU4UnbA"
    unknown = httpx.get(f"{entry.url}/v1/p2p/{stranger}/x")
    assert unknown.status_code == 502
    assert unknown.json()["error"]["code"] == "unknown_peer"


def test_local_service_forward_and_path_tricks(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    echo = upstream(upstreams, "--name", "echo")
    node = start_node("--service", f"echo={echo.url}", "--standalone")

    answer = httpx.post(
        f"{node.url}/v1/_service/echo/echo/a%20b/c?x=1&y=2",
        content=b"x" * 100_000,
        headers={"connection": "keep-alive, x-hop", "x-hop": "secret", "x-end": "kept"},
    ).json()
    assert answer["raw_path"] == "/echo/a%20b/c"
    assert answer["query"] == "x=1&y=2"
    assert answer["body_bytes"] == 100_000
    assert answer["headers"]["x-end"] == "kept"
    assert "x-hop" not in answer["headers"]  # named by Connection: hop-by-hop

    missing = httpx.get(f"{node.url}/v1/_service/nope/v1/models")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_service"

    for trick in (
        "/v1/_service/echo/../../v1/dnt/table",
        "/v1/_service/echo/echo/%2e%2e/%2e%2e/health",
        "/v1/_service/echo/echo%2F..%2F..%2Fhealth",
        "/v1/_service/echo//evil.example/x",
        "/v1/_service/echo/http:%2F%2Fevil.example/x",
        "/v1/_service/echo/echo/%5C..%5Chealth",
        "/v1/_service/echo/echo/a%00b",
    ):
        status, body = raw_get(node, trick)
        assert status == 400, (trick, status, body)
        assert body["error"]["code"] == "invalid_path"  # type: ignore[index]


def test_cookies_an_upstream_sets_reach_only_the_client_that_got_them(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    """The node forwards for many clients: it must not keep one client's cookies."""
    echo = upstream(upstreams, "--name", "echo")
    node = start_node("--service", f"echo={echo.url}", "--standalone")
    base = f"{node.url}/v1/_service/echo/echo/x"

    first = httpx.get(base, params={"set-cookie": "session=alice"})
    assert first.headers["set-cookie"] == "session=alice"  # passed on to its client
    second = httpx.get(base).json()
    assert "cookie" not in second["headers"]


def test_global_service_routes_by_model_and_says_who_served(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    b = provider(start_node, entry, upstream(upstreams, "--name", "B").url, "model-b")
    c = provider(start_node, entry, upstream(upstreams, "--name", "C").url, "model-c")
    assert wait_until(lambda: sees_services(entry, 2), CONVERGE_S)

    client = openai.OpenAI(base_url=f"{entry.url}/v1/service/llm/v1", api_key="unused")
    for model, node, name in (("model-b", b, "B"), ("model-c", c, "C")):
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.headers["x-computing-node"] == node.peer_id
        assert raw.parse().choices[0].message.content == f"hello from {name}"

    with pytest.raises(openai.APIStatusError) as missing:
        client.chat.completions.create(model="nobody", messages=[{"role": "user", "content": "x"}])
    assert missing.value.status_code == 503
    assert missing.value.body["code"] == "no_provider"  # type: ignore[index]


def test_server_sent_events_arrive_chunk_by_chunk(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    slow = upstream(upstreams, "--name", "S", "--chunk-delay", "0.3")
    provider(start_node, entry, slow.url, "stream-model")
    assert wait_until(lambda: sees_services(entry, 1), CONVERGE_S)

    request = {"model": "stream-model", "stream": True, "max_tokens": 6, "messages": []}
    arrivals: list[float] = []
    url = f"{entry.url}/v1/service/llm/v1/chat/completions"
    with httpx.stream("POST", url, json=request, timeout=30) as response:
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        lines = []
        for line in response.iter_lines():
            if line:
                arrivals.append(time.monotonic())
                lines.append(line)
    assert lines[-1] == "data: [DONE]"
    assert len(lines) == 7
    # The upstream spaces chunks 0.3 s apart; buffering anywhere would bunch them up.
    assert arrivals[-1] - arrivals[0] >= 1.2


def test_failing_providers_are_retried_and_honest_errors_when_all_fail(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    broken = provider(start_node, entry, upstream(upstreams, "--fail").url, "shared")
    healthy = provider(start_node, entry, upstream(upstreams, "--name", "OK").url, "shared")
    only_broken = provider(start_node, entry, upstream(upstreams, "--fail").url, "doomed")
    assert wait_until(lambda: sees_services(entry, 3), CONVERGE_S)
    url = f"{entry.url}/v1/service/llm/v1/chat/completions"

    for _ in range(10):
        answer = httpx.post(url, json={"model": "shared", "messages": []}, timeout=30)
        assert answer.status_code == 200
        assert answer.headers["x-computing-node"] == healthy.peer_id
    failed = httpx.post(url, json={"model": "doomed", "messages": []}, timeout=30)
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "all_providers_failed"
    assert only_broken.peer_id in failed.json()["error"]["message"]
    assert broken.peer_id != healthy.peer_id


async def test_sigkill_of_a_provider_under_load_fails_no_request(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    survivor = provider(start_node, entry, upstream(upstreams, "--latency", "0.02").url, "m")
    victim = provider(start_node, entry, upstream(upstreams, "--latency", "0.02").url, "m")
    assert wait_until(lambda: sees_services(entry, 2), CONVERGE_S)
    url = f"{entry.url}/v1/service/llm/v1/chat/completions"
    statuses: list[int] = []
    served_by: set[str] = set()
    total, concurrency = 200, 16

    async def worker(client: httpx.AsyncClient, jobs: trio.MemoryReceiveChannel[int]) -> None:
        async for _ in jobs:
            response = await client.post(url, json={"model": "m", "messages": []})
            statuses.append(response.status_code)
            served_by.add(response.headers.get("x-computing-node", ""))
            if len(statuses) == total // 4:
                victim.kill()  # SIGKILL while about 16 requests are in flight

    send, receive = trio.open_memory_channel[int](total)
    for job in range(total):
        send.send_nowait(job)
    send.close()
    async with httpx.AsyncClient(timeout=60) as client, trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker, client, receive.clone())
    assert len(statuses) == total
    assert [s for s in statuses if s != 200] == []
    assert served_by == {survivor.peer_id, victim.peer_id}


def test_a_stream_cut_midway_ends_with_an_error_event(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    slow = upstream(upstreams, "--chunk-delay", "0.1")
    doomed = provider(start_node, entry, slow.url, "stream-model")
    assert wait_until(lambda: sees_services(entry, 1), CONVERGE_S)

    request = {"model": "stream-model", "stream": True, "max_tokens": 200, "messages": []}
    url = f"{entry.url}/v1/service/llm/v1/chat/completions"
    lines: list[str] = []
    with httpx.stream("POST", url, json=request, timeout=30) as response:
        for line in response.iter_lines():
            if line:
                lines.append(line)
            if len(lines) == 3:
                doomed.kill()
    assert 3 <= len(lines) < 200
    last = json.loads(lines[-1].removeprefix("data: "))
    assert last["error"]["code"] == "stream_interrupted"


def test_a_stream_past_the_deadline_ends_with_an_error_event(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1", env={"COMPUTEMESH_FORWARD_TOTAL_TIMEOUT": "2"})
    slow = upstream(upstreams, "--chunk-delay", "0.1")
    provider(start_node, entry, slow.url, "stream-model")
    assert wait_until(lambda: sees_services(entry, 1), CONVERGE_S)

    request = {"model": "stream-model", "stream": True, "max_tokens": 200, "messages": []}
    url = f"{entry.url}/v1/service/llm/v1/chat/completions"
    started = time.monotonic()
    with httpx.stream("POST", url, json=request, timeout=30) as response:
        lines = [line for line in response.iter_lines() if line]
    assert time.monotonic() - started < 10  # 200 chunks would take 20 s
    assert 3 <= len(lines) < 200
    last = json.loads(lines[-1].removeprefix("data: "))
    assert last["error"]["code"] == "stream_interrupted"
    assert "deadline" in last["error"]["message"]


def test_a_client_that_gives_up_cancels_the_request_at_the_upstream(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    slow = upstream(upstreams, "--latency", "30")
    provider(start_node, entry, slow.url, "slow-model")
    assert wait_until(lambda: sees_services(entry, 1), CONVERGE_S)

    request = {"model": "slow-model", "messages": []}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{entry.url}/v1/service/llm/v1/chat/completions", json=request, timeout=1)
    # client → entry (cancelled) → libp2p stream reset → provider (cancelled) → upstream
    assert wait_until(lambda: httpx.get(f"{slow.url}/stats").json()["abandoned"] == 1, 10)


def test_requests_in_flight_show_in_the_record(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    entry = start_node("--public-addr", "127.0.0.1")
    busy = provider(start_node, entry, upstream(upstreams, "--latency", "4").url, "m")
    assert wait_until(lambda: sees_services(entry, 1), CONVERGE_S)

    def load_seen_by_entry() -> int:
        return int(entry.table()[f"/{busy.peer_id}"]["load"][0])

    url = f"{entry.url}/v1/service/llm/v1/chat/completions"
    with ThreadPoolExecutor(3) as pool:
        pending = [pool.submit(httpx.post, url, json={"model": "m"}, timeout=30) for _ in range(3)]
        assert wait_until(lambda: load_seen_by_entry() == 3, 10)
        assert all(job.result().status_code == 200 for job in pending)
    assert wait_until(lambda: load_seen_by_entry() == 0, 10)
