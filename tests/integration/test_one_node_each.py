"""One node per libp2p port and per data dir: a second node that would share either refuses
to start, in one line that says why, while the first runs on untouched."""

from pathlib import Path

import pytest

from computemesh.cli.localmesh import LocalNode, free_port
from tests.support.processes import run_cli


def _start(data_dir: Path, listen: str) -> list[str]:
    return [
        "node", "start", "--data-dir", str(data_dir), "--listen", listen,
        "--http-port", str(free_port()), "--log-level", "WARNING",
    ]  # fmt: skip


@pytest.mark.parametrize("second_host", ["127.0.0.1", "0.0.0.0"])
def test_a_second_node_on_a_libp2p_port_in_use_refuses_to_start(
    tmp_path: Path, second_host: str
) -> None:
    """py-libp2p listens with SO_REUSEPORT: without the check both would share the port."""
    port = free_port()
    first = LocalNode(tmp_path / "first")
    try:
        first.start(listen=f"/ip4/127.0.0.1/tcp/{port}").wait_healthy()
        listen = f"/ip4/{second_host}/tcp/{port}"
        done = run_cli(*_start(tmp_path / "second", listen))
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"error: cannot listen on {listen}: Address already in use"
            f" (is another node using TCP port {port}?)"
        ]
        assert first.get("/v1/health")
    finally:
        first.kill()


def test_a_second_node_on_a_data_dir_in_use_names_the_running_one(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    first = LocalNode(shared)
    try:
        first.start().wait_healthy()
        assert first.process is not None
        done = run_cli(*_start(shared, "/ip4/127.0.0.1/tcp/0"))
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"error: data dir {shared} is in use by another node"
            f" (pid {first.process.pid}, {first.url}); stop it or give this node its own --data-dir"
        ]
        assert first.get("/v1/health")
        first.kill()  # the lock ends with the process, however it ends
        again = LocalNode(shared).start().wait_healthy()
        assert again.peer_id == first.peer_id
        again.kill()
    finally:
        first.kill()
