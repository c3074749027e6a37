"""CORS on a real node process: browser pages of other origins may read the views and
use the inference surfaces, never the operator routes; forwarded answers carry the
node's CORS headers, not the upstream's (llama-server sends its own)."""

from collections.abc import Iterator

import httpx
import pytest

from computemesh.cli.localmesh import LocalNode
from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess

APP = "http://app.example"
ALLOW_ORIGIN = "access-control-allow-origin"
CHAT = {"model": "m1", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, echo: UpstreamProcess) -> Iterator[LocalNode]:
    args = ["--standalone", "--service", f"llm={echo.url}", "--identity-group", "llm:model=m1"]
    started = LocalNode(tmp_path_factory.mktemp("cors") / "node", args=args)
    try:
        yield started.start().wait_healthy()
    finally:
        started.kill()


def preflight(node: LocalNode, path: str, method: str, origin: str = APP) -> httpx.Response:
    headers = {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "content-type, authorization",
    }
    return httpx.options(f"{node.url}{path}", headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/chat/completions", "POST"), ("/v1/dnt/table", "GET"), ("/v1/service/llm/x", "POST")],
)
def test_preflights_from_another_origin_are_answered(
    node: LocalNode, path: str, method: str
) -> None:
    answer = preflight(node, path, method)
    assert answer.status_code == 204, answer.text
    assert answer.headers[ALLOW_ORIGIN] == "*"
    assert method in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"]


def test_views_and_inference_answers_carry_the_allow_origin(node: LocalNode) -> None:
    table = httpx.get(f"{node.url}/v1/dnt/table", headers={"origin": APP}, timeout=10)
    assert (table.status_code, table.headers[ALLOW_ORIGIN]) == (200, "*")
    chat = httpx.post(f"{node.url}/v1/chat/completions", json=CHAT, headers={"origin": APP})
    assert (chat.status_code, chat.headers[ALLOW_ORIGIN]) == (200, "*")


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/dnt/_node", "POST"), ("/v1/dnt/_node", "DELETE"), ("/api/p2p/token", "GET")],
)
def test_operator_routes_get_no_cors(node: LocalNode, path: str, method: str) -> None:
    answer = preflight(node, path, method)
    assert answer.status_code == 403
    assert ALLOW_ORIGIN not in answer.headers
    # The simple request a page sends without a preflight is refused as well.
    simple = httpx.request(method, f"{node.url}{path}", headers={"origin": APP}, timeout=10)
    assert simple.status_code == 403
    assert ALLOW_ORIGIN not in simple.headers


@pytest.mark.parametrize("path", ["/v1/_service/llm/echo/x", "/v1/chat/completions"])
def test_forwarded_answers_carry_the_nodes_cors_not_the_upstreams(
    node: LocalNode, echo: UpstreamProcess, path: str
) -> None:
    direct = httpx.post(f"{echo.url}/v1/chat/completions", json=CHAT, headers={"origin": APP})
    assert direct.headers[ALLOW_ORIGIN] == APP  # what the upstream says on its own
    answer = httpx.post(f"{node.url}{path}", json=CHAT, headers={"origin": APP}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers.get_list(ALLOW_ORIGIN) == ["*"]
    assert "access-control-allow-credentials" not in answer.headers


def test_cors_allow_origins_names_the_origins_let_in(start_node: StartNode) -> None:
    node = start_node("--standalone", env={"COMPUTEMESH_CORS_ALLOW_ORIGINS": f'["{APP}"]'})
    table = f"{node.url}/v1/dnt/table"
    named = httpx.get(table, headers={"origin": APP}, timeout=10)
    assert named.headers[ALLOW_ORIGIN] == APP
    assert "origin" in named.headers["vary"].lower()
    other = httpx.get(table, headers={"origin": "http://other.example"}, timeout=10)
    assert ALLOW_ORIGIN not in other.headers
    assert preflight(node, "/v1/dnt/table", "GET", "http://other.example").status_code == 403
