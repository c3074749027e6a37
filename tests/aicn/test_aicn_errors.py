"""AICN error codes from real node processes: bad bodies, unknown nodes, timeouts, relays."""

import httpx

from computemesh.cli.localmesh import wait_until
from tests.aicn.conftest import CONVERGE_S, mesh, upstream
from tests.integration.conftest import StartNode
from tests.support.aicn_client import AicnClient
from tests.support.processes import UpstreamProcess

STRANGER = "12D3KooWJ5EYrFNLAeUKs1vu2AmaU9X5XRGK9tC5uYcmAiU4UnbA"
AICN_PATHS = [
    "/api/v0/id", "/api/v0/peers", "/api/v0/peer", "/api/v0/host/info",
    "/api/v0/chat/completion", "/api/v0/chat/completion/proxy",
    "/api/v0/image/gen", "/api/v0/image/gen/proxy",
    "/api/v0/ai/projects/list", "/api/v0/ai/projects/models", "/api/v0/ai/projects/peers",
    "/api/v0/swarm/peers", "/api/v0/swarm/addrs", "/api/v0/swarm/connect",
    "/api/v0/swarm/disconnect", "/api/v0/pubsub/peers",
    "/api/v0/ai/project/register", "/api/v0/ai/project/unregister", "/api/v0/ai/project/peer",
]  # fmt: skip
LOCALAI_PATHS = [
    "/api/p2p",
    "/api/p2p/token",
    "/api/p2p/workers",
    "/api/p2p/federation",
    "/api/p2p/stats",
]


def expect(response: httpx.Response, status: int, code: int) -> str:
    assert (response.status_code, response.json().get("code")) == (status, code), response.text
    message: str = response.json()["message"]
    assert message
    return message


def test_error_codes(start_node: StartNode, upstreams: list[UpstreamProcess]) -> None:
    slow = upstream(upstreams, "--name", "slow", "--latency", "30")
    a, b = mesh(start_node, 2, env={"COMPUTEMESH_AICN_TIMEOUT": "2"})
    client = AicnClient(a.url)
    api = f"{client.api}/chat/completion"

    # 1002: not JSON. 1001: JSON without what the AICN API requires, or out of range.
    broken = httpx.post(api, content=b"{not json", headers={"content-type": "application/json"})
    expect(broken, 400, 1002)
    assert "node_id" in expect(client.raw("/chat/completion", {"project": "P"}), 400, 1001)
    expect(client.raw("/image/gen/proxy", {**client.image_body("P", "M"), "n": 0}), 400, 1001)
    expect(client.raw("/peer", {}), 400, 1001)
    # An API that is not on this machine is refused (AICN checks the same).
    remote_api = {
        "project": "P",
        "models": [{"model": "M", "api": "http://10.1.2.3/v1", "type": 0}],
    }
    expect(client.raw("/ai/project/register", remote_api), 400, 1001)
    expect(client.raw("/ai/project/unregister", {"project": "never-registered"}), 400, 1001)

    # An unknown node: its code at once, never a hang.
    body = {"node_id": STRANGER, **client.chat_body("P", "M")}
    expect(client.raw("/chat/completion", body), 404, 1005)
    expect(client.raw("/host/info", {"node_id": STRANGER}), 404, 1005)
    expect(client.raw("/ai/project/peer", {"node_id": STRANGER}), 404, 1005)
    # A known node that does not run the model; a model nobody runs.
    expect(client.raw("/chat/completion", {**body, "node_id": b.peer_id}), 503, 1016)
    expect(client.raw("/chat/completion/proxy", client.chat_body("P", "M")), 503, 1016)

    # 1004: the model takes longer than aicn_timeout (2 s here), directly and by proxy.
    AicnClient(b.url).register("Slow", "snail", f"{slow.url}/v1/chat/completions")
    assert wait_until(lambda: client.projects() == ["Slow"], CONVERGE_S)
    expect(
        client.raw(
            "/chat/completion", {**body, "node_id": b.peer_id, "project": "Slow", "model": "snail"}
        ),
        504,
        1004,
    )
    expect(client.raw("/chat/completion/proxy", client.chat_body("Slow", "snail")), 504, 1004)

    # A peer cannot use B as a relay: over the mesh, B serves only its own answers.
    relayed = httpx.post(
        f"{a.url}/v1/p2p/{b.peer_id}/api/v0/host/info", json={"node_id": a.peer_id}, timeout=10
    )
    expect(relayed, 404, 1005)
    # Operator-only control is not reachable over the mesh either.
    over_mesh = httpx.post(
        f"{a.url}/v1/p2p/{b.peer_id}/api/v0/swarm/disconnect", json={"node_addr": "/p2p/x"}
    )
    assert over_mesh.status_code == 404

    # The OpenAPI document lists every endpoint of the AICN and LocalAI P2P APIs.
    paths = httpx.get(f"{a.url}/openapi.json").json()["paths"]
    missing = [p for p in AICN_PATHS + LOCALAI_PATHS + ["/ipfs/{cid}"] if p not in paths]
    assert not missing
