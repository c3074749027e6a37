"""Real node processes on 127.0.0.1, cleaned up after each test."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from computemesh.cli.localmesh import LocalNode
from tests.support.processes import UpstreamProcess, start_upstream

StartNode = Callable[..., LocalNode]


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[StartNode]:
    started: list[LocalNode] = []

    def start(
        *args: str, name: str | None = None, env: dict[str, str] | None = None, **kw: str
    ) -> LocalNode:
        node = LocalNode(tmp_path / (name or f"node{len(started)}"), args=list(args), env=env or {})
        if "http_port" in kw:
            node.http_port = int(kw.pop("http_port"))
        started.append(node)
        return node.start(**kw).wait_healthy()

    yield start
    for node in started:
        node.kill()


@pytest.fixture
def upstreams() -> Iterator[list[UpstreamProcess]]:
    """Upstreams a test starts with ``upstream(upstreams, ...)``; all killed afterwards."""
    started: list[UpstreamProcess] = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture(scope="module")
def echo() -> Iterator[UpstreamProcess]:
    """One echo upstream serving model ``m1``, shared by a module's tests."""
    process = start_upstream("--model", "m1")
    yield process
    process.kill()
