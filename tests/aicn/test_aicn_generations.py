"""Both generations of AICN clients against real node processes.

The AICN API's clients (AICN's ``api.http``, POST and ``{code, message, data}``) are covered
by the other AICN tests; here the calls AICN v0.1.8 and later make, and the clients
written for it: GET with query parameters (or, as v0.1.8 and v0.1.9 sent them, a JSON
body), answers read at the top level (``res["choices"][0]``), ``ai/projects/peers``
objects and ``image/gen``'s ``{created, data: [...]}``.
"""

import base64
from typing import Any

import httpx

from computemesh.cli.localmesh import wait_until
from computemesh.node.api.aicn.content import cid_of
from tests.aicn.conftest import CONVERGE_S, mesh, upstream
from tests.aicn.test_aicn_errors import expect
from tests.integration.conftest import StartNode
from tests.support.aicn_client import TIMEOUT_S, AicnClient
from tests.support.processes import UpstreamProcess

PROJECT, MODEL = "DecentralGPT", "Llama3-70B"
PEER_FIELDS = {"node_id", "connectivity", "latency", "Idle", "cid", "status"}


def get(client: AicnClient, path: str, **params: Any) -> httpx.Response:
    """A v0.2-style call: GET, parameters in the query string."""
    return httpx.get(f"{client.api}{path}", params=params, timeout=TIMEOUT_S)


def newer_peers(client: AicnClient, project: str, model: str) -> list[dict[str, Any]]:
    answer = get(client, "/ai/projects/peers", project=project, model=model)
    assert answer.status_code == 200, answer.text
    peers: list[dict[str, Any]] = answer.json()["data"]
    return peers


def test_v018_clients_read_top_level_fields_and_use_get(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    model_api = upstream(upstreams, "--name", "B")
    painter = upstream(upstreams, "--name", "painter")
    a, b = mesh(start_node, 2)
    client, on_b = AicnClient(a.url), AicnClient(b.url)
    on_b.register(PROJECT, MODEL, f"{model_api.url}/v1/chat/completions")
    on_b.register("SuperImage", "superImage", f"{painter.url}/v1/images/generations", type=1)
    assert wait_until(lambda: len(client.projects()) == 2, CONVERGE_S)

    # Lists: GET with query parameters, the AICN API's POST forms unchanged beside them.
    listed = get(client, "/ai/projects/list", number=1).json()
    assert listed["data"] == ["DecentralGPT"]  # number caps the list
    assert get(client, "/ai/projects/list").json()["data"] == ["DecentralGPT", "SuperImage"]
    assert get(client, "/ai/projects/models", project=PROJECT).json()["data"] == [MODEL]
    [peer] = newer_peers(client, PROJECT, MODEL)
    assert set(peer) == PEER_FIELDS
    assert (peer["node_id"], peer["connectivity"], peer["status"]) == (b.peer_id, 1, "online")
    assert isinstance(peer["latency"], int)
    assert peer["latency"] >= 0
    assert client.project_peers(PROJECT, MODEL) == [b.peer_id]  # POST: the AICN API's node ids
    # v0.1.8 and v0.1.9 sent their GET parameters as a JSON body.
    as_body = httpx.request(
        "GET", f"{client.api}/ai/projects/peers", json={"project": PROJECT, "model": MODEL}
    )
    assert [p["node_id"] for p in as_body.json()["data"]] == [b.peer_id]
    # Bad query parameters are the AICN API's 1001, as bad bodies are.
    expect(get(client, "/ai/projects/peers", project=PROJECT), 400, 1001)
    expect(get(client, "/ai/projects/models", project=PROJECT, number=-1), 400, 1001)
    expect(get(client, "/ai/projects/list", number="many"), 400, 1001)

    # Swarm and pubsub views: GET answers what POST does.
    assert [p["peer"] for p in get(client, "/swarm/peers").json()] == [b.peer_id]
    assert b.peer_id in {p["peer"] for p in get(client, "/swarm/addrs").json()}
    assert wait_until(lambda: get(client, "/pubsub/peers").json() == [b.peer_id], CONVERGE_S)

    # chat/completion read as DecentralGPT's newer web client does: res.choices[0].
    body = {"node_id": b.peer_id, **client.chat_body(PROJECT, MODEL), "stream": False}
    res = client.raw("/chat/completion", body).json()
    assert res["choices"][0]["message"]["content"] == "hello from B"
    assert res["usage"]["total_tokens"] == 7
    assert isinstance(res["created"], int)
    assert res["data"]["choices"] == res["choices"]  # the AICN API's data, unchanged
    assert (res["code"], res["message"]) == (0, "ok")
    res = client.raw("/chat/completion/proxy", client.chat_body(PROJECT, MODEL)).json()
    assert res["choices"][0]["message"]["content"] == "hello from B"

    # /peer and /host/info: PeerInfo and machine information at the top level too.
    res = client.raw("/peer", {"node_id": b.peer_id}).json()
    assert res["peer_id"] == res["data"]["peer_id"] == b.peer_id
    res = client.raw("/host/info", {"node_id": b.peer_id}).json()
    assert res["os"] == res["data"]["os"]
    assert res["cpu"][0]["total_threads"] >= 1

    # image/gen: a body with response_format gets {created, data: [{b64_json | url}]}.
    image = {"node_id": b.peer_id, **client.image_body("SuperImage", "superImage", n=2)}
    res = client.raw("/image/gen", {**image, "response_format": "b64_json"}).json()
    assert res["code"] == 0
    assert isinstance(res["created"], int)
    pictures = [base64.b64decode(item["b64_json"]) for item in res["data"]]
    assert len(pictures) == 2
    assert all(p.startswith(b"\x89PNG") for p in pictures)
    res = client.raw("/image/gen", {**image, "n": 1, "response_format": "url"}).json()
    [item] = res["data"]
    fetched = httpx.get(item["url"])
    assert fetched.content.startswith(b"\x89PNG")
    assert item["url"].endswith(cid_of(fetched.content))
    proxied = client.raw(
        "/image/gen/proxy",
        {**client.image_body("SuperImage", "superImage"), "response_format": "b64_json"},
    ).json()
    assert base64.b64decode(proxied["data"][0]["b64_json"]).startswith(b"\x89PNG")
    # Without response_format: the AICN API's answer, data {ipfs_node, choices} as before.
    assert set(client.image(b.peer_id, "SuperImage", "superImage")) == {"ipfs_node", "choices"}
    expect(client.raw("/image/gen", {**image, "response_format": "png"}), 400, 1001)


def test_bad_flags_addresses_and_routes_answer_in_the_envelope(start_node: StartNode) -> None:
    [a] = mesh(start_node, 1)
    client = AicnClient(a.url)
    chat = {"node_id": a.peer_id, **client.chat_body(PROJECT, MODEL)}

    # stream must be a JSON boolean: no "true" strings, no 1 (null is false, as in Go).
    for flag in ("true", 1, "yes"):
        assert "stream" in expect(
            client.raw("/chat/completion", {**chat, "stream": flag}), 400, 1001
        )
    expect(client.raw("/chat/completion", {**chat, "stream": None}), 503, 1016)  # not a 400

    # An address that cannot be parsed is the caller's error, as for swarm/disconnect.
    for node_addr in ("not a multiaddr", "/ip4/127.0.0.1/tcp/1", "/ip4/999.0.0.1/tcp/1/p2p/x"):
        expect(client.raw("/swarm/connect", {"node_addr": node_addr}), 400, 1001)

    # No such route, or not that method: the envelope, never another surface's shape.
    message = expect(client.raw("/no/such/thing", {}), 404, 1001)
    assert "/api/v0/no/such/thing" in message
    wrong = client.raw("/chat/completion", method="GET")
    assert "POST" in expect(wrong, 405, 1001)
    assert wrong.headers["allow"] == "POST"
    expect(client.raw("/ai/projects/list", method="DELETE"), 405, 1001)


def test_a_post_only_model_stays_listed_and_a_dead_one_shows_its_state(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    # Model APIs that answer 500 to GET /health and GET / but serve their POST route.
    alive = upstream(upstreams, "--name", "B", "--post-only")
    doomed = upstream(upstreams, "--name", "D", "--post-only")
    assert httpx.get(f"{alive.url}/health").status_code == 500
    env = {"COMPUTEMESH_SERVICE_PROBE_INTERVAL": "0.3"}
    a, b = mesh(start_node, 2, env=env)
    client, on_b = AicnClient(a.url), AicnClient(b.url)
    on_b.register(PROJECT, MODEL, f"{alive.url}/v1/chat/completions")
    on_b.register("Other", "gone-soon", f"{doomed.url}/v1/chat/completions")
    assert wait_until(lambda: client.projects() == ["DecentralGPT", "Other"], CONVERGE_S)

    # The doomed model's server stops answering: its state shows once probes see it.
    doomed.kill()
    assert wait_until(
        lambda: [p["status"] for p in newer_peers(client, "Other", "gone-soon")] == ["unhealthy"],
        CONVERGE_S,
    )
    assert client.project_peers("Other", "gone-soon") == []  # the AICN API's list: running ones
    assert client.projects() == ["DecentralGPT"]
    assert client.project_peer(b.peer_id) == [
        {"project": PROJECT, "models": [MODEL], "status": {MODEL: "online"}},
        {"project": "Other", "models": ["gone-soon"], "status": {"gone-soon": "unhealthy"}},
    ]

    # Probes have run all along: the POST-only model is still listed, alive and serving.
    assert client.project_peers(PROJECT, MODEL) == [b.peer_id]
    assert [p["status"] for p in newer_peers(client, PROJECT, MODEL)] == ["online"]
    answer = client.chat_proxy(PROJECT, MODEL)
    assert answer["choices"][0]["message"]["content"] == "hello from B"
