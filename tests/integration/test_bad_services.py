"""Issue 18 items 1 and 3: bad or self-pointing services are refused and never end a node.

A registration with a port ``abc`` or 99999, a control character, or an address on the
node's own ports used to be saved, then kill the node (a claim or a probe raised out of
its task group) within seconds, and again at every start.
"""

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx

from computemesh.cli.localmesh import LocalNode, free_port
from tests.integration.conftest import StartNode
from tests.support.aicn_client import AicnClient
from tests.support.processes import UpstreamProcess, upstream

FAST_PROBES = {"COMPUTEMESH_SERVICE_PROBE_INTERVAL": "0.3"}
ALIVE_FOR_S = 10.5  # the old node died within 8 s


def registration(api: str, model: str = "M") -> dict[str, Any]:
    return {"project": "P", "models": [{"model": model, "api": api, "type": 0}]}


def libp2p_port(client: AicnClient) -> int:
    match = re.search(r"/tcp/(\d+)", client.id()["addresses"][0])
    assert match
    return int(match.group(1))


def assert_alive_and_serving(node: LocalNode, up: UpstreamProcess) -> None:
    """Alive after the time the old node took to die, and a good registration serves."""
    time.sleep(ALIVE_FOR_S)
    assert node.process is not None
    assert node.process.poll() is None, node.log_tail()
    client = AicnClient(node.url)
    client.register("Good", "m", f"{up.url}/v1/chat/completions")
    data = client.chat(client.id()["peer_id"], "Good", "m")
    assert data["choices"][0]["message"]["content"] == "hello from upstream"


def test_bad_registrations_get_a_1001_and_the_node_lives(
    start_node: StartNode, upstreams: list[UpstreamProcess], tmp_path: Path
) -> None:
    up = upstream(upstreams)
    node = start_node("--standalone", name="n", env=FAST_PROBES)
    client = AicnClient(node.url)
    refused = {
        "http://127.0.0.1:abc/v1/chat/completions": "not a usable URL",
        "http://127.0.0.1:99999/v1/chat/completions": "not a usable URL",
        "http://\u007f@127.0.0.1/v1/chat/completions": "control characters",
        "http://user@127.0.0.1:8000/v1/chat/completions": "user info",
        f"http://127.0.0.1:{node.http_port}/v1/chat/completions": "own port",
        f"http://localhost:{libp2p_port(client)}/v1/chat/completions": "own port",
    }
    for api, complaint in refused.items():
        answer = client.raw("/ai/project/register", registration(api))
        assert (answer.status_code, answer.json()["code"]) == (400, 1001), answer.text
        assert complaint in answer.json()["message"]
    # One bad model refuses the whole registration: nothing of it is kept.
    mixed = registration(f"{up.url}/v1")
    mixed["models"].append({"model": "bad", "api": "http://127.0.0.1:abc/v1", "type": 0})
    assert client.raw("/ai/project/register", mixed).json()["code"] == 1001
    assert client.projects() == []
    assert not (tmp_path / "n" / "aicn_projects.json").exists()
    assert_alive_and_serving(node, up)


def test_bad_ocf_services_get_a_clear_error_and_the_node_lives(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    up = upstream(upstreams)
    node = start_node("--standalone", env=FAST_PROBES)
    port = libp2p_port(AicnClient(node.url))
    invalid = [  # the OCF surface's validation errors: 422 {"error": ...}
        ({"name": "x", "host": "127.0.0.1\x7f", "port": 8000}, "control characters"),
        ({"name": "x", "host": "a b", "port": 8000}, "control characters"),
        ({"name": "x", "host": "evil/path", "port": 8000}, "IP address or a DNS name"),
        ({"name": "x", "host": "127.0.0.1", "port": 99999}, "TCP port"),
        ({"name": "x", "host": "127.0.0.1", "port": "abc"}, "TCP port"),
    ]
    for service, complaint in invalid:
        answer = httpx.post(f"{node.url}/v1/dnt/_node", json={"service": [service]})
        assert answer.status_code == 422, answer.text
        assert complaint in answer.json()["error"]
    for host, own_port in [("127.0.0.1", node.http_port), ("0.0.0.0", port), ("localhost", port)]:
        service = {"name": "self", "host": host, "port": own_port}
        answer = httpx.post(f"{node.url}/v1/dnt/_node", json={"service": [service]})
        assert answer.status_code == 400, answer.text
        assert "own port" in answer.json()["error"]
    [row] = node.table().values()
    assert row["service"] == []
    assert_alive_and_serving(node, up)


def test_a_bad_saved_registration_file_is_skipped_at_start(
    start_node: StartNode, upstreams: list[UpstreamProcess], tmp_path: Path
) -> None:
    up = upstream(upstreams)
    http_port = free_port()
    good = {"project": "Saved", "model": "ok", "api": f"{up.url}/v1/chat/completions", "type": 0}
    bad_apis = [
        "http://127.0.0.1:abc/v1/chat/completions",
        "http://127.0.0.1:99999/v1/chat/completions",
        "http://\u007f@127.0.0.1/v1/chat/completions",
        f"http://127.0.0.1:{http_port}/v1/chat/completions",
    ]
    saved = [good, *({**good, "model": f"bad{i}", "api": a} for i, a in enumerate(bad_apis))]
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "aicn_projects.json").write_text(json.dumps(saved))

    node = start_node("--standalone", name="n", env=FAST_PROBES, http_port=str(http_port))
    client = AicnClient(node.url)
    assert client.models("Saved") == ["ok"]
    assert node.log_tail().count("skipping a saved AI project registration") == len(bad_apis)
    assert_alive_and_serving(node, up)
    assert client.chat(client.id()["peer_id"], "Saved", "ok")["choices"]


def test_a_saved_file_that_is_no_list_is_set_aside(start_node: StartNode, tmp_path: Path) -> None:
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "aicn_projects.json").write_text('{"project": "P"}')
    node = start_node("--standalone", name="n")
    assert AicnClient(node.url).projects() == []
    [aside] = (tmp_path / "n").glob("aicn_projects.json.invalid-*")
    assert aside.read_text() == '{"project": "P"}'
    assert "moved it to" in node.log_tail()


def test_a_self_pointing_service_from_the_command_line_is_refused(
    start_node: StartNode, tmp_path: Path
) -> None:
    http_port = free_port()
    node = LocalNode(
        tmp_path / "n",
        http_port=http_port,
        args=["--standalone", "--service", f"me=http://127.0.0.1:{http_port}"],
    )
    try:
        process = node.start().process
        assert process is not None
        assert process.wait(30) != 0
    finally:
        node.kill()
    assert "--service me: a service may not point at this node's own port" in node.log_tail()


def test_only_documented_fields_reach_the_model(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> None:
    """The peer-safe chat/completion passes no extra field through to the model's api."""
    echo = upstream(upstreams, "--echo-request")
    node = start_node("--standalone")
    client = AicnClient(node.url)
    client.register("Echo", "e", f"{echo.url}/v1/chat/completions")
    body = {
        "node_id": client.id()["peer_id"],
        **client.chat_body("Echo", "e"),
        "stream": False,
        "node_addr": "/ip4/127.0.0.1/tcp/1/p2p/x",
        "temperature": 2,
        "wallet": "0xabc",
    }
    body["messages"][1]["name"] = "smuggled"
    data = client.call("/chat/completion", body)
    received = json.loads(data["choices"][0]["message"]["content"])
    assert received == {
        "model": "e",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello"},
        ],
        "stream": False,
    }
