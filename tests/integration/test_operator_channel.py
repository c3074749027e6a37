"""Who is an operator, on a real node process: the operator's channel, and nothing else.

Forwarded requests (marked by the node that forwards them), browser pages of another
origin, callers behind a proxy, and unknown Host names (DNS rebinding) never get
operator rights; loopback is trusted only when ``trust_loopback`` says so.
"""

from collections.abc import Iterator

import httpx
import pytest

from computemesh.cli.localmesh import LocalNode
from computemesh.p2phttp import FORWARDED_MARKER
from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess

ADMIN = "an-operator-secret-for-tests"
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, echo: UpstreamProcess) -> Iterator[LocalNode]:
    """One standalone node with the admin token, a known name, and the echo upstream."""
    args = ["--standalone", "--admin-token", ADMIN, "--service", f"echo={echo.url}"]
    args += ["--identity-group", "echo:model=m1"]
    env = {"COMPUTEMESH_ALLOWED_HOSTS": '["node.example"]'}
    started = LocalNode(tmp_path_factory.mktemp("operator") / "node", args=args, env=env)
    try:
        yield started.start().wait_healthy()
    finally:
        started.kill()


def post_node(node: LocalNode, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{node.url}/v1/dnt/_node", json={}, headers=headers, timeout=10)


# Item 3: what the node forwards is marked, and marked requests are never the operator.


@pytest.mark.parametrize("route", ["/v1/_service/echo", "/v1/service/echo"])
def test_forwarded_requests_carry_the_marker(node: LocalNode, route: str) -> None:
    spoofed = {FORWARDED_MARKER: "spoofed"}
    answer = httpx.get(f"{node.url}{route}/echo/x", headers=spoofed, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["headers"][FORWARDED_MARKER] == "1"


def test_a_loopback_request_carrying_the_marker_is_not_the_operator(node: LocalNode) -> None:
    assert post_node(node).status_code == 200
    for headers in (
        {FORWARDED_MARKER: "1"},
        {FORWARDED_MARKER: "1", "authorization": f"Bearer {ADMIN}"},
    ):
        refused = post_node(node, headers)
        assert refused.status_code == 403
        assert "forwarded" in refused.json()["error"]


def test_a_service_pointing_at_a_local_node_gets_no_operator_rights(
    start_node: StartNode,
) -> None:
    """A forwards ``/v1/_service/b/...`` to node B from 127.0.0.1: B must not obey it."""
    target = start_node("--standalone", "--owner", "0xowner")
    relay = start_node("--standalone", "--service", f"b={target.url}")
    through = f"{relay.url}/v1/_service/b"
    assert httpx.get(f"{through}/v1/health", timeout=10).json() == {"status": "ok"}
    edit = httpx.post(f"{through}/v1/dnt/_node", json={"owner": "0xevil"}, timeout=10)
    assert edit.status_code == 403, edit.text
    assert httpx.get(f"{through}/api/p2p/token", timeout=10).status_code == 403
    swarm = httpx.post(f"{through}/api/v0/swarm/disconnect", json={"node_addr": "x"}, timeout=10)
    assert swarm.status_code == 403
    assert swarm.json()["code"] == 1009
    [entry] = target.table().values()
    assert entry["owner"] == "0xowner"


# Item 10: browser pages of another origin, and unknown Host names.


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": EVIL},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": EVIL, "authorization": f"Bearer {ADMIN}"},
    ],
)
def test_operator_routes_refuse_pages_of_another_origin(
    node: LocalNode, headers: dict[str, str]
) -> None:
    refused = post_node(node, headers)
    assert refused.status_code == 403
    assert "another origin" in refused.json()["error"]
    aicn = httpx.post(
        f"{node.url}/api/v0/swarm/connect", json={"node_addr": "x"}, headers=headers, timeout=10
    )
    assert (aicn.status_code, aicn.json()["code"]) == (403, 1009)


def test_the_nodes_own_page_is_the_operator(node: LocalNode) -> None:
    own = {"origin": node.url, "sec-fetch-site": "same-origin"}
    assert post_node(node, own).status_code == 200
    named = {"host": f"localhost:{node.http_port}", "origin": f"http://localhost:{node.http_port}"}
    assert post_node(node, named).status_code == 200


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("/v1/dnt/table", lambda body: body["error"]),
        ("/v1/models", lambda body: body["error"]["message"]),
        ("/api/v0/peers", lambda body: body["message"]),
    ],
)
def test_unknown_host_names_get_421_in_the_surfaces_format(
    node: LocalNode, path: str, read: object
) -> None:
    answer = httpx.get(f"{node.url}{path}", headers={"host": "rebound.example"}, timeout=10)
    assert answer.status_code == 421
    assert callable(read)
    assert "rebound.example" in read(answer.json())


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "10.1.2.3", "node.example"])
def test_known_host_names_and_ip_literals_are_answered(node: LocalNode, host: str) -> None:
    answer = httpx.get(f"{node.url}/v1/dnt/table", headers={"host": f"{host}:80"}, timeout=10)
    assert answer.status_code == 200, answer.text


# Item 11: proxies, and whether loopback is trusted at all.


@pytest.mark.parametrize(
    "header",
    [
        {"x-forwarded-for": "203.0.113.9"},
        {"forwarded": "for=203.0.113.9"},
        {"x-real-ip": "1.2.3.4"},
    ],
)
def test_a_request_through_a_proxy_is_not_trusted_as_loopback(
    node: LocalNode, header: dict[str, str]
) -> None:
    refused = post_node(node, header)
    assert refused.status_code == 403
    assert "proxy" in refused.json()["error"]
    assert post_node(node, {**header, "authorization": f"Bearer {ADMIN}"}).status_code == 200


def test_loopback_is_not_trusted_when_trust_loopback_is_off(start_node: StartNode) -> None:
    node = start_node(
        "--admin-token", ADMIN, "--standalone", env={"COMPUTEMESH_TRUST_LOOPBACK": "false"}
    )
    refused = post_node(node)
    assert refused.status_code == 403
    assert "trust_loopback" in refused.json()["error"]
    assert post_node(node, {"authorization": f"Bearer {ADMIN}"}).status_code == 200
