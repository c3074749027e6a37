"""AICN surface across three real node processes, driven by a client written to the AICN API."""

import json
import time

import httpx

from computemesh.cli.localmesh import LocalNode, wait_until
from computemesh.node.api.aicn.content import cid_of
from tests.aicn.conftest import CONVERGE_S, mesh, upstream
from tests.integration.conftest import StartNode
from tests.support.aicn_client import AicnClient, AicnError
from tests.support.processes import UpstreamProcess

PROJECT, MODEL = "DecentralGPT", "Llama3-70B"


def chat_api(process: UpstreamProcess) -> str:
    return f"{process.url}/v1/chat/completions"


def sees_peers(client: AicnClient, peers: list[str]) -> bool:
    try:
        return client.project_peers(PROJECT, MODEL) == sorted(peers)
    except AicnError:
        return False


def test_projects_chat_proxy_and_host_info(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    up_b, up_c = upstream(upstreams, "--name", "B"), upstream(upstreams, "--name", "C")
    a, b, c = mesh(start_node, 3)
    client_a, client_b, client_c = AicnClient(a.url), AicnClient(b.url), AicnClient(c.url)
    client_b.register(PROJECT, MODEL, chat_api(up_b))
    client_c.register(PROJECT, MODEL, chat_api(up_c))

    # Registrations are services of B's and C's records: A sees them at once.
    assert wait_until(lambda: sees_peers(client_a, [b.peer_id, c.peer_id]), CONVERGE_S)
    assert client_a.projects() == [PROJECT]
    assert client_a.models(PROJECT) == [MODEL]
    assert client_a.project_peer(b.peer_id) == [
        {"project": PROJECT, "models": [MODEL], "status": {MODEL: "online"}}
    ]
    assert client_a.models("NoSuchProject") == []

    # chat/completion on B, from A: the AICN API's data.
    data = client_a.chat(b.peer_id, PROJECT, MODEL)
    assert set(data) == {"created", "choices", "usage"}
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "hello from B"}
    assert data["usage"]["total_tokens"] == 7
    assert abs(data["created"] - time.time()) < 600

    # Streaming: OpenAI chunks relayed, ending data: [DONE].
    events = client_a.chat_stream(b.peer_id, PROJECT, MODEL)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 8
    assert chunks[0]["choices"][0]["delta"]["content"] == "t0 "

    # Proxy: any provider; with B's model killed, every answer still comes from C.
    answers = {
        client_a.chat_proxy(PROJECT, MODEL)["choices"][0]["message"]["content"] for _ in range(4)
    }
    assert answers <= {"hello from B", "hello from C"}
    up_b.kill()
    for _ in range(5):
        data = client_a.chat_proxy(PROJECT, MODEL)
        assert data["choices"][0]["message"]["content"] == "hello from C"
    # Asked directly, B reports its model's failure as an AI model error.
    refused = client_a.raw(
        "/chat/completion", {"node_id": b.peer_id, **client_a.chat_body(PROJECT, MODEL)}
    )
    assert refused.status_code == 502
    assert refused.json()["code"] == 1006

    # With C gone too, nobody can answer: 1016, not a hang.
    c.kill()
    failed = client_a.raw("/chat/completion/proxy", client_a.chat_body(PROJECT, MODEL))
    assert failed.status_code == 503
    assert failed.json()["code"] == 1016, failed.text

    # Machine information of B, from B itself over /libp2p-http.
    info = client_a.host_info(b.peer_id)
    assert info["os"]["os"] == "linux"
    assert info["os"]["kernel_arch"]
    assert info["cpu"][0]["total_threads"] >= 1
    assert info["memory"]["total_usable_bytes"] > 0
    assert all(disk["serial_number"] == "" for disk in info["disk"])  # withheld by default
    assert isinstance(info["gpu"], list)

    # PeerInfo: bare for /id, enveloped for /peer (asked of B over the mesh).
    own = client_a.id()
    assert own["peer_id"] == a.peer_id
    assert "/libp2p-http" in own["protocols"]
    remote = client_a.peer(b.peer_id)
    assert remote["peer_id"] == b.peer_id
    assert remote["protocol_version"] == "aicn/0.0.1"
    assert any(addr.startswith("/ip4/127.0.0.1/tcp/") for addr in remote["addresses"])
    assert {a.peer_id, b.peer_id} <= set(client_a.peers())


def test_swarm_and_pubsub_views(start_node: StartNode) -> None:
    a, b = mesh(start_node, 2)
    client = AicnClient(a.url)
    swarm = client.raw("/swarm/peers").json()
    assert [entry["peer"] for entry in swarm] == [b.peer_id]
    assert swarm[0]["direction"] in ("Inbound", "Outbound")
    assert swarm[0]["addr"].startswith("/ip4/")
    addrs = {entry["peer"]: entry["addrs"] for entry in client.raw("/swarm/addrs").json()}
    assert a.peer_id in addrs
    assert b.peer_id in addrs
    assert wait_until(lambda: client.raw("/pubsub/peers").json() == [b.peer_id], CONVERGE_S)

    # Operator-only control, from loopback: disconnect, then connect again.
    loopback = [x for x in AicnClient(b.url).id()["addresses"] if x.startswith("/ip4/127.0.0.1/")]
    node_addr = f"{loopback[0]}/p2p/{b.peer_id}"
    assert client.call("/swarm/disconnect", {"node_addr": node_addr}) is None
    assert client.call("/swarm/connect", {"node_addr": node_addr}) is None
    bad = client.raw("/swarm/disconnect", {"node_addr": "/ip4/127.0.0.1/tcp/1"})
    assert bad.status_code == 400
    assert bad.json()["code"] == 1001


def test_image_generation_is_stored_by_cid_on_the_serving_node(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    painter = upstream(upstreams, "--name", "painter")
    a, b = mesh(start_node, 2)
    api = f"{painter.url}/v1/images/generations"
    AicnClient(b.url).register("SuperImage", "superImage", api, type=1)
    client = AicnClient(a.url)
    assert wait_until(lambda: client.projects() == ["SuperImage"], CONVERGE_S)

    data = client.image(b.peer_id, "SuperImage", "superImage")
    assert data["ipfs_node"] == b.url
    [choice] = data["choices"]
    assert choice["image_name"].endswith(".png")
    stored = httpx.get(f"{b.url}/ipfs/{choice['cid']}")
    assert stored.status_code == 200
    assert stored.headers["content-type"] == "image/png"
    assert stored.content.startswith(b"\x89PNG")
    assert cid_of(stored.content) == choice["cid"]

    # Several images (b64_json from the model), through our routing.
    data = client.image_proxy("SuperImage", "superImage", n=3)
    assert len({c["cid"] for c in data["choices"]}) == 3
    for choice in data["choices"]:
        content = httpx.get(f"{data['ipfs_node']}/ipfs/{choice['cid']}").content
        assert cid_of(content) == choice["cid"]

    # A caller that runs its own IPFS node gets the images added there.
    own_ipfs = upstream(upstreams, "--name", "kubo")
    data = client.image_proxy("SuperImage", "superImage", n=2, ipfs_node=own_ipfs.url)
    assert data["ipfs_node"] == own_ipfs.url
    for choice in data["choices"]:
        content = httpx.get(f"{own_ipfs.url}/ipfs/{choice['cid']}").content
        assert content.startswith(b"\x89PNG")
        assert cid_of(content) == choice["cid"]
    bad = client.raw("/image/gen/proxy", {**client.image_body("SuperImage", "superImage"),
                                          "ipfs_node": "file:///etc/passwd"})  # fmt: skip
    assert bad.json()["code"] == 1001

    # Not a CID, or not here.
    assert httpx.get(f"{b.url}/ipfs/..%2Fnode.key").status_code == 404
    missing = httpx.get(f"{a.url}/ipfs/{choice['cid']}")
    assert missing.status_code == 404
    assert missing.json()["code"] == 1007
    # A text model is not an image model.
    wrong = client.raw("/image/gen", {"node_id": b.peer_id, **client.image_body(PROJECT, MODEL)})
    assert wrong.json()["code"] == 1016


def test_registrations_survive_a_restart(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    up = upstream(upstreams, "--name", "B")
    a, b = mesh(start_node, 2)
    AicnClient(b.url).register(PROJECT, MODEL, chat_api(up))
    client = AicnClient(a.url)
    assert wait_until(lambda: sees_peers(client, [b.peer_id]), CONVERGE_S)
    assert b.stop() == 0
    assert wait_until(lambda: sees_peers(client, []), CONVERGE_S)

    restarted = LocalNode(b.data_dir, http_port=b.http_port, args=b.args)
    try:
        restarted.start().wait_healthy()
        assert wait_until(lambda: sees_peers(client, [b.peer_id]), CONVERGE_S)
        assert (
            client.chat(b.peer_id, PROJECT, MODEL)["choices"][0]["message"]["content"]
            == "hello from B"
        )
        AicnClient(restarted.url).unregister(PROJECT)
        assert wait_until(lambda: sees_peers(client, []), CONVERGE_S)
    finally:
        restarted.kill()
