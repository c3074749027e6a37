"""A stream cut behind the gateway ends with an error event, never a clean end that looks
complete; what was delivered is still metered. Real processes: upstream, node, gateway."""

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from computemesh.cli.localmesh import LocalNode
from tests.gateway import harness
from tests.gateway.upstream import WORDS_BEFORE_CUT

StartGateway = Callable[..., harness.Process]
OWNER = "0x00000000000000000000000000000000000000bb"


def chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}


def events(lines: Iterator[str]) -> Iterator[Any]:
    for line in lines:
        if line.startswith("data: "):
            payload = line.removeprefix("data: ")
            yield payload if payload == "[DONE]" else json.loads(payload)


Kill = Callable[[], None] | None


def stream_until_cut(url: str, model: str, kill: Kill) -> tuple[list[Any], str]:
    """Stream a chat; after the words before the cut, call ``kill``. The events and request id."""
    seen: list[Any] = []
    with httpx.stream("POST", url + "/v1/chat/completions", json=chat(model), timeout=60) as r:
        assert r.status_code == 200
        for event in events(r.iter_lines()):
            seen.append(event)
            words = [e for e in seen if isinstance(e, dict) and _content(e)]
            if kill is not None and len(words) == WORDS_BEFORE_CUT:
                kill()
                kill = None
        return seen, r.headers["x-request-id"]


def _content(event: dict[str, Any]) -> str:
    choices = event.get("choices") or [{}]
    content: str = choices[0].get("delta", {}).get("content", "")
    return content


def assert_cut(seen: list[Any]) -> None:
    assert "[DONE]" not in seen
    *delivered, last = seen
    assert last["error"]["code"] == "stream_interrupted"
    assert last["error"]["type"] == "upstream_error"
    assert last["error"]["message"]
    assert [_content(e) for e in delivered if _content(e)] != []


def usage_row(sqlite_url: str, request_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The stored usage record of a request (the gateway writes it within a flush interval)."""
    path = Path(sqlite_url.split("///", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(path) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM usage_records WHERE id = ?", (request_id,)).fetchone()
        if row is not None:
            return dict(row)
        time.sleep(0.1)
    raise AssertionError(f"usage record {request_id} was not written")


@pytest.fixture
def own_upstream(tmp_path: Path) -> Iterator[harness.Process]:
    """An upstream for this test alone: it is killed mid-stream."""
    process = harness.upstream(tmp_path).start()
    yield process
    process.kill()


def test_upstream_killed_mid_stream_ends_with_an_error_event(
    start_gateway: StartGateway, own_upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([own_upstream.url], sqlite_url, usage_flush_interval="0.2")
    seen, request_id = stream_until_cut(gateway.url, "hang-stream", own_upstream.kill)
    assert_cut(seen)
    record = usage_row(sqlite_url, request_id)
    assert record["status"] == 502
    assert record["completion_tokens"] == WORDS_BEFORE_CUT  # what was delivered


def test_the_nodes_own_cut_event_is_relayed_and_metered_as_failed(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([upstream.url], sqlite_url, usage_flush_interval="0.2")
    seen, request_id = stream_until_cut(gateway.url, "cut-stream", None)
    assert_cut(seen)
    record = usage_row(sqlite_url, request_id)
    assert record["status"] == 502
    assert record["completion_tokens"] == WORDS_BEFORE_CUT


@pytest.mark.slow
@pytest.mark.parametrize("killed", ["node", "provider"])
def test_a_real_node_cut_mid_stream(
    start_gateway: StartGateway,
    own_upstream: harness.Process,
    sqlite_url: str,
    tmp_path: Path,
    killed: str,
) -> None:
    """Gateway → node → provider; SIGKILL the node itself, or the provider behind it."""
    args = ["--standalone", "--service", f"llm={own_upstream.url}"]
    args += ["--identity-group", "llm:model=hang-stream", "--owner", OWNER]
    node = LocalNode(tmp_path / "node", args=args)
    try:
        node.start().wait_healthy()
        _wait_for_model(node.url, "hang-stream")
        gateway = start_gateway([node.url], sqlite_url, usage_flush_interval="0.2")
        kill = node.kill if killed == "node" else own_upstream.kill
        seen, request_id = stream_until_cut(gateway.url, "hang-stream", kill)
        assert_cut(seen)
        assert usage_row(sqlite_url, request_id)["status"] == 502
    finally:
        node.kill()


def _wait_for_model(node_url: str, model: str, timeout: float = 30.0) -> None:
    """The node routes to a service once its first health probe marked it online."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = httpx.get(node_url + "/v1/models", timeout=5)
        if listed.status_code == 200 and model in {m["id"] for m in listed.json()["data"]}:
            return
        time.sleep(0.2)
    raise AssertionError(f"the node never listed {model}")
