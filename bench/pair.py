"""An entry node and a provider node on loopback: the mesh most benches measure."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import UpstreamProcess, start_upstream

from computemesh.cli.localmesh import LocalNode, wait_until

MODEL = "bench-model"


@contextmanager
def upstream_and_nodes() -> Iterator[tuple[UpstreamProcess, list[LocalNode]]]:
    """The test upstream answering at once, and a list of the nodes started in front of it.

    On the way out every node in the list is stopped and the upstream killed, even
    when a bench fails half-way.
    """
    upstream = start_upstream("--model", MODEL, "--chunk-delay", "0")
    nodes: list[LocalNode] = []
    try:
        yield upstream, nodes
    finally:
        for node in nodes:
            node.stop()
        upstream.kill()


def start_pair(
    scratch: Path, upstream_url: str, started: list[LocalNode], env: dict[str, str] | None = None
) -> tuple[LocalNode, LocalNode]:
    """E (no service) and P (service ``llm`` at ``upstream_url``), once E's table shows P.

    Each node joins ``started`` as it starts, so the caller stops them even when
    a later step fails.
    """
    entry = LocalNode(scratch / "e", args=["--public-addr", "127.0.0.1"], env=env or {})
    started.append(entry.start())
    entry.wait_healthy()
    provider = LocalNode(scratch / "p", env=env or {}, args=[
        "--bootstrap", entry.bootstrap_addr(), "--service", f"llm={upstream_url}",
        "--identity-group", f"llm:model={MODEL}"])  # fmt: skip
    started.append(provider.start())
    provider.wait_healthy()
    if not wait_until(lambda: any(e["service"] for e in entry.table().values()), 30):
        raise SystemExit("the provider did not reach the entry node's table")
    return entry, provider
