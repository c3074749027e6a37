"""Real node processes and upstream servers on 127.0.0.1 for the AICN and LocalAI tests."""

from computemesh.cli.localmesh import LocalNode, wait_until
from tests.integration.conftest import StartNode, start_node, upstreams  # noqa: F401
from tests.support.processes import UpstreamProcess, upstream  # noqa: F401

CONVERGE_S = 30.0


def mesh(
    start: StartNode, count: int, *args: str, env: dict[str, str] | None = None
) -> list[LocalNode]:
    """``count`` nodes bootstrapped from the first, once each sees all of them."""
    entry = start("--public-addr", "127.0.0.1", *args, env=env)
    nodes = [entry]
    for _ in range(count - 1):
        nodes.append(start("--bootstrap", entry.bootstrap_addr(), *args, env=env))
    assert wait_until(lambda: all(len(n.table()) == count for n in nodes), CONVERGE_S)
    return nodes
