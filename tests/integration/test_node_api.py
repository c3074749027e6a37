"""The OCF node API: operator edits, access rules, bad input, service health."""

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from computemesh.cli import app
from computemesh.cli.localmesh import free_port, wait_until
from computemesh.config import NodeSettings
from computemesh.node.app import create_app
from computemesh.node.daemon import build_state, open_http_client
from computemesh.p2p.host import open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.sync import TableSync
from computemesh.routing.directory import PeerDirectory
from tests.integration.conftest import StartNode

CONVERGE_S = 30.0
SERVICE = {"name": "llm", "host": "127.0.0.1", "port": "9", "identity_group": ["model=gpt2"]}


def test_posted_service_reaches_the_whole_mesh(start_node: StartNode) -> None:
    first = start_node("--public-addr", "127.0.0.1")
    second = start_node("--bootstrap", first.bootstrap_addr())
    response = httpx.post(
        f"{second.url}/v1/dnt/_node", json={"service": [SERVICE], "owner": "0xabc"}
    )
    assert response.status_code == 200
    assert response.json()["service"][0]["identity_group"] == ["model=gpt2"]

    def first_sees_it() -> bool:
        entry = first.table().get(f"/{second.peer_id}")
        return bool(entry and entry["owner"] == "0xabc" and entry["service"])

    assert wait_until(first_sees_it, CONVERGE_S)
    service = first.table()[f"/{second.peer_id}"]["service"][0]
    assert (service["name"], service["port"], service["identity_group"]) == (
        "llm",
        "9",
        ["model=gpt2"],
    )


def test_delete_withdraws_the_entry_and_post_restores_it(start_node: StartNode) -> None:
    first = start_node("--public-addr", "127.0.0.1")
    second = start_node("--bootstrap", first.bootstrap_addr(), "--record-ttl", "600")
    key = f"/{second.peer_id}"
    assert wait_until(lambda: key in first.table(), CONVERGE_S)
    assert httpx.delete(f"{second.url}/v1/dnt/_node").status_code == 200
    assert wait_until(lambda: key not in first.table(all=True), CONVERGE_S)
    assert httpx.post(f"{second.url}/v1/dnt/_node", json={}).status_code == 200
    assert wait_until(lambda: key in first.table(), CONVERGE_S)


@pytest.mark.parametrize(
    ("body", "status", "complaint"),
    [
        (b"{not json", 400, "invalid request"),  # as OCF's BindJSON answers
        (b'{"service": [{"name": "llm", "port": "http"}]}', 422, "port"),
        (b'{"service": [{"name": "a/b", "port": 80}]}', 422, "name"),
        (
            b'{"service": [{"name": "llm", "port": 80, "identity_group": ["model"]}]}',
            422,
            "key=value",
        ),
        (b'{"service": "llm"}', 422, "service"),
    ],
)
def test_bad_node_bodies_get_a_clear_error(
    start_node: StartNode, body: bytes, status: int, complaint: str
) -> None:
    node = start_node("--standalone")
    response = httpx.post(
        f"{node.url}/v1/dnt/_node", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert complaint in response.json()["error"]


def test_openapi_docs_are_served(start_node: StartNode) -> None:
    node = start_node("--standalone")
    assert httpx.get(f"{node.url}/docs").status_code == 200
    assert "/v1/dnt/table" in httpx.get(f"{node.url}/openapi.json").json()["paths"]


@contextmanager
def healthy_upstream(port: int) -> Iterator[None]:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_unhealthy_service_is_marked_and_recovers(start_node: StartNode) -> None:
    port = free_port()
    node = start_node(
        "--standalone",
        "--service", f"llm=http://127.0.0.1:{port}",
        "--identity-group", "llm:model=gpt2",
        env={"COMPUTEMESH_SERVICE_PROBE_INTERVAL": "0.3"},
    )  # fmt: skip

    def status() -> str:
        return str(next(iter(node.table().values()))["service"][0]["status"])

    # OCF's words in OCF's view: the signed record says "unhealthy" / "online"
    assert wait_until(lambda: status() == "disconnected", CONVERGE_S)
    with healthy_upstream(port):
        assert wait_until(lambda: status() == "connected", CONVERGE_S)


@pytest.fixture
async def remote_client() -> AsyncIterator[httpx.AsyncClient]:
    """The node app in-process, called from a non-loopback address."""
    identity = generate("ed25519")
    async with open_mesh_host(identity, ["/ip4/127.0.0.1/tcp/0"]) as host:
        own = OwnRecord(peer_id=host.peer_id, ttl=30, version="test")
        sync = TableSync(host, identity.sign, own, refresh=5, max_peers=8)
        sync.publish_now()
        settings = NodeSettings(
            admin_token=SecretStr("a-real-admin-token-value"), allowed_hosts=["node"]
        )
        async with open_http_client(host, PeerDirectory(sync)) as (clients, directory):
            state = build_state(settings, sync, clients, directory)
            transport = httpx.ASGITransport(app=create_app(state), client=("203.0.113.7", 4000))
            async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
                yield client


async def test_remote_callers_need_the_admin_token(remote_client: httpx.AsyncClient) -> None:
    assert (await remote_client.get("/v1/dnt/table")).status_code == 200  # reading is public
    for method in ("POST", "DELETE"):
        denied = await remote_client.request(method, "/v1/dnt/_node", json={})
        assert denied.status_code == 403
        assert "operator endpoint" in denied.json()["error"]
    wrong = {"authorization": "Bearer not-the-token"}
    assert (await remote_client.post("/v1/dnt/_node", json={}, headers=wrong)).status_code == 403
    right = {"authorization": "Bearer a-real-admin-token-value"}
    allowed = await remote_client.post("/v1/dnt/_node", json={"owner": "0x1"}, headers=right)
    assert allowed.status_code == 200
    assert allowed.json()["owner"] == "0x1"


def test_node_status_shows_the_mesh(start_node: StartNode) -> None:
    first = start_node("--public-addr", "127.0.0.1")
    second = start_node(
        "--bootstrap", first.bootstrap_addr(), "--service", "llm=http://127.0.0.1:9"
    )
    assert wait_until(lambda: len(first.table()) == 2, CONVERGE_S)
    result = CliRunner().invoke(app, ["node", "status", "--api", first.url])
    assert result.exit_code == 0
    assert "2 nodes" in result.stdout
    assert second.peer_id[:10] in result.stdout
    assert "llm" in result.stdout
    unreachable = CliRunner().invoke(
        app, ["node", "status", "--api", f"http://127.0.0.1:{free_port()}"]
    )
    assert unreachable.exit_code == 1
    assert "cannot read" in unreachable.stdout


def test_a_service_without_host_is_this_node_as_ocf_treats_it(start_node: StartNode) -> None:
    """OCF's own example registers a service without ``host`` (found by the fuzz test: 500)."""
    node = start_node("--standalone")
    body = {"service": [{"name": "triteia", "status": "online", "hardware": [], "port": "19150"}]}
    response = httpx.post(f"{node.url}/v1/dnt/_node", json=body, timeout=10)
    assert response.status_code == 200, response.text
    [service] = [s for s in response.json()["service"] if s["name"] == "triteia"]
    assert (service["host"], service["port"]) == ("127.0.0.1", "19150")


async def test_remote_callers_need_the_admin_token_for_metrics(
    remote_client: httpx.AsyncClient,
) -> None:
    denied = await remote_client.get("/metrics")
    assert denied.status_code == 403
    assert "admin token" in denied.json()["error"]
    wrong = {"authorization": "Bearer not-the-token"}
    assert (await remote_client.get("/metrics", headers=wrong)).status_code == 403
    right = {"authorization": "Bearer a-real-admin-token-value"}
    allowed = await remote_client.get("/metrics", headers=right)
    assert allowed.status_code == 200
    assert "computemesh_table_nodes 1.0" in allowed.text
