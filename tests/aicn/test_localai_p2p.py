"""LocalAI's P2P API on real node processes: token, workers, federation, stats.

Both generations of LocalAI's pages read it: up to v3.12 ``workers``/``nodes``, since v4.0
``llama_cpp_workers``, ``llama_cpp_nodes``, ``llama_cpp{nodes}`` and the ``mlx`` ones.
"""

from datetime import datetime
from typing import Any

import httpx

from computemesh.cli.localmesh import LocalNode, wait_until
from computemesh.jointoken import new_token
from tests.aicn.conftest import CONVERGE_S, upstream
from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess

NODE_DATA = {"Name", "ID", "TunnelAddress", "ServiceID", "LastSeen"}
NODE_STATUS = {"name", "id", "tunnelAddress", "serviceID", "lastSeen", "isOnline"}


def p2p(node: LocalNode, path: str = "") -> Any:
    response = httpx.get(f"{node.url}/api/p2p{path}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def online(node: LocalNode, path: str) -> dict[str, bool]:
    return {entry["id"]: entry["isOnline"] for entry in p2p(node, path)["nodes"]}


def test_token_workers_federation_and_stats(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    token = new_token([]).encode()
    service = upstream(upstreams, "--name", "worker")
    a = start_node("--public-addr", "127.0.0.1", "--token", token)
    worker = start_node(
        "--bootstrap", a.bootstrap_addr(), "--token", token, "--service", f"llm={service.url}"
    )
    c = start_node("--bootstrap", a.bootstrap_addr(), "--token", token)
    assert wait_until(lambda: len(a.table()) == 3, CONVERGE_S)

    plain = httpx.get(f"{a.url}/api/p2p/token")
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/plain")
    assert plain.text == token

    everything = p2p(a)
    assert set(everything) == {"nodes", "federated_nodes", "llama_cpp_nodes", "mlx_nodes"}
    assert [n["ID"] for n in everything["nodes"]] == [worker.peer_id]
    assert {n["ID"] for n in everything["federated_nodes"]} == {
        a.peer_id,
        worker.peer_id,
        c.peer_id,
    }
    for entry in everything["nodes"] + everything["federated_nodes"]:
        assert set(entry) == NODE_DATA
        datetime.fromisoformat(entry["LastSeen"])  # ISO 8601
    assert everything["nodes"][0]["ServiceID"] == "llm"
    assert everything["nodes"][0]["TunnelAddress"] == f"libp2p://{worker.peer_id}"

    assert online(a, "/workers") == {worker.peer_id: True}
    assert all(set(entry) == NODE_STATUS for entry in p2p(a, "/federation")["nodes"])
    assert set(online(a, "/federation").values()) == {True}
    stats = p2p(a, "/stats")
    assert stats["workers"] == {"online": 1, "total": 1}
    assert stats["federated"] == {"online": 3, "total": 3}

    # Killed nodes stay listed (their records live on) but flip to offline.
    c.kill()
    assert wait_until(lambda: not online(a, "/federation")[c.peer_id], CONVERGE_S)
    worker.kill()
    assert wait_until(lambda: online(a, "/workers") == {worker.peer_id: False}, CONVERGE_S)
    assert online(a, "/federation") == {a.peer_id: True, worker.peer_id: False, c.peer_id: False}
    stats = p2p(a, "/stats")
    assert stats["workers"] == {"online": 0, "total": 1}
    assert stats["federated"] == {"online": 1, "total": 3}


def test_localai_v4_pages_read_their_renamed_keys(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    # What LocalAI v4's P2P page reads, beside the keys older pages read; no node here is
    # an MLX worker, so those lists are empty but present.
    service = upstream(upstreams, "--name", "worker")
    a = start_node("--public-addr", "127.0.0.1")
    worker = start_node("--bootstrap", a.bootstrap_addr(), "--service", f"llm={service.url}")
    assert wait_until(lambda: len(a.table()) == 2, CONVERGE_S)

    stats = p2p(a, "/stats")
    assert stats["llama_cpp_workers"] == stats["workers"] == {"online": 1, "total": 1}
    assert stats["mlx_workers"] == {"online": 0, "total": 0}
    assert stats["federated"] == {"online": 2, "total": 2}

    workers = p2p(a, "/workers")
    assert workers["llama_cpp"]["nodes"] == workers["nodes"]
    assert [n["id"] for n in workers["llama_cpp"]["nodes"]] == [worker.peer_id]
    assert set(workers["llama_cpp"]["nodes"][0]) == NODE_STATUS
    assert workers["mlx"] == {"nodes": []}

    everything = p2p(a)
    assert everything["llama_cpp_nodes"] == everything["nodes"]
    assert [n["ID"] for n in everything["llama_cpp_nodes"]] == [worker.peer_id]
    assert everything["mlx_nodes"] == []


def test_a_standalone_node_has_no_p2p_layer(start_node: StartNode) -> None:
    node = start_node("--standalone")
    for path in ("", "/token", "/workers", "/federation", "/stats"):
        response = httpx.get(f"{node.url}/api/p2p{path}")
        assert response.status_code == 500
        assert "standalone" in response.json()["error"]["message"]


def test_an_open_mesh_has_no_token(start_node: StartNode) -> None:
    node = start_node()
    response = httpx.get(f"{node.url}/api/p2p/token")
    assert response.status_code == 500
    assert "without a join token" in response.json()["error"]["message"]
