"""Request and answer shapes the clients of the systems computemesh replaces rely on.

Two real nodes (an entry serving a model from a real upstream, and a peer), called
the way ``curl -d``, ``requests.post(data=...)`` and Go clients call them.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from computemesh.cli.localmesh import LocalNode, wait_until
from tests.support.processes import UpstreamProcess, start_upstream

MODEL = "shape-model"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
# curl -d's label, requests' data= label for a str, a Go client's, and none at all
LABELS = ["application/x-www-form-urlencoded", "text/plain; charset=utf-8", None]


@dataclass
class Pair:
    entry: LocalNode
    peer: LocalNode


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root: Path = tmp_path_factory.mktemp("shapes")
    upstream: UpstreamProcess = start_upstream("--name", "m", "--model", MODEL)
    served = ("--service", f"llm={upstream.url}", "--identity-group", f"llm:model={MODEL}")
    entry = LocalNode(root / "entry", args=["--public-addr", "127.0.0.1", *served])
    nodes = [entry]
    try:
        entry.start().wait_healthy(60)
        peer = LocalNode(root / "peer", args=["--bootstrap", entry.bootstrap_addr()])
        nodes.append(peer.start().wait_healthy(60))
        assert wait_until(lambda: len(entry.table()) == 2 == len(peer.table()), 30)
        yield Pair(entry, peer)
    finally:
        for node in nodes:
            node.kill()
        upstream.kill()


def post(node: LocalNode, path: str, body: Any, label: str | None) -> httpx.Response:
    headers = {"content-type": label} if label else {}
    return httpx.post(node.url + path, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("label", LABELS)
def test_json_bodies_are_read_whatever_their_label(pair: Pair, label: str | None) -> None:
    entry = pair.entry
    owner = f"owner-{len(label or '')}"
    registered = post(entry, "/v1/dnt/_node", {"owner": owner}, label)
    assert registered.status_code == 200, registered.text
    assert registered.json()["owner"] == owner

    info = post(entry, "/api/v0/host/info", {"node_id": entry.peer_id}, label)
    assert info.status_code == 200, info.text
    assert info.json()["code"] == 0

    chat = post(entry, "/v1/chat/completions", CHAT, label)
    assert chat.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"]


def test_malformed_json_on_node_is_400_as_ocf_answers(pair: Pair) -> None:
    response = httpx.post(f"{pair.entry.url}/v1/dnt/_node", content=b'{"service": [')
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)
    invalid = httpx.post(f"{pair.entry.url}/v1/dnt/_node", json={"service": [{"port": "x"}]})
    assert invalid.status_code == 422  # JSON, but not a service: a validation error


def test_table_speaks_ocf_service_status_words(pair: Pair) -> None:
    own = pair.peer.table()[f"/{pair.entry.peer_id}"]
    assert [service["status"] for service in own["service"]] == ["connected"]


def test_peers_are_go_libp2p_addr_infos(pair: Pair) -> None:
    peers = pair.entry.get("/v1/dnt/peers")["peers"]
    assert [peer["ID"] for peer in peers] == [pair.peer.peer_id]
    addrs = peers[0]["Addrs"]
    assert addrs
    assert all(addr.startswith("/ip4/") and "/p2p/" not in addr for addr in addrs)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/no-such-thing", 404),
        ("GET", "/v1/audio/speech", 404),
        ("PUT", "/v1/models", 405),
        ("DELETE", "/v1/chat/completions", 405),
    ],
)
def test_openai_paths_fail_in_openai_error_shape(
    pair: Pair, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, pair.entry.url + path)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == {404: "not_found", 405: "method_not_allowed"}[status]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/p2p/no-such-thing", 404), ("DELETE", "/api/p2p", 405)],
)
def test_localai_paths_fail_in_localai_error_shape(
    pair: Pair, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, pair.entry.url + path)
    assert response.status_code == status
    message = {404: "Not Found", 405: "Method Not Allowed"}[status]
    assert response.json() == {"error": {"code": status, "message": message}}


@pytest.mark.parametrize("path", ["/v1/dnt/no-such-thing", "/v1/health/x", "/nothing"])
def test_ocf_and_other_paths_keep_ocf_error_shape(pair: Pair, path: str) -> None:
    response = httpx.get(pair.entry.url + path)
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
