"""Bodies a node reads whole are bounded: 413 in each surface's own format; streamed ones pass."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess, upstream

LIMIT = 4096
OVER = b"x" * (LIMIT + 1)


def _json_over_limit() -> bytes:
    return b'{"model": "m", "messages": [{"role": "user", "content": "' + OVER + b'"}]}'


def _chunked(body: bytes) -> Iterator[bytes]:
    """No Content-Length: the node finds the size only while it reads."""
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


@pytest.fixture
def node_url(start_node: StartNode, upstreams: list[UpstreamProcess]) -> str:
    served = upstream(upstreams, "--model", "m")
    env = {"COMPUTEMESH_MAX_BODY_BYTES": str(LIMIT)}
    args = ["--service", f"llm={served.url}", "--identity-group", "llm:model=m"]
    return start_node(*args, env=env).url


@pytest.mark.parametrize("sized", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/service/llm/v1/chat/completions"])
def test_a_body_over_the_limit_is_413_in_the_openai_shape(
    node_url: str, path: str, sized: bool
) -> None:
    body: Any = _json_over_limit() if sized else _chunked(_json_over_limit())
    response = httpx.post(node_url + path, content=body, headers=_json())
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    assert error["type"] == "invalid_request_error"


def test_ocf_and_aicn_paths_answer_413_in_their_own_shapes(node_url: str) -> None:
    ocf = httpx.post(f"{node_url}/v1/dnt/_node", content=OVER, headers=_json())
    assert ocf.status_code == 413
    assert isinstance(ocf.json()["error"], str)
    aicn = httpx.post(f"{node_url}/api/v0/peer", content=OVER, headers=_json())
    assert aicn.status_code == 413
    assert set(aicn.json()) == {"code", "message"}


def test_bodies_under_the_limit_are_served(node_url: str) -> None:
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    for path in ("/v1/chat/completions", "/v1/service/llm/v1/chat/completions"):
        assert httpx.post(node_url + path, json=chat).status_code == 200


def test_a_streamed_forward_is_not_bounded(node_url: str) -> None:
    """``/v1/_service`` relays the body as it comes: the node never holds it whole."""
    large = {"model": "m", "messages": [{"role": "user", "content": "x" * (LIMIT * 16)}]}
    path = "/v1/_service/llm/v1/chat/completions"
    assert httpx.post(node_url + path, json=large).status_code == 200


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}
