"""``computemesh doctor`` on real set-ups: a good one passes, a bad one fails with fixes."""

import socket
from pathlib import Path

from computemesh import jointoken
from computemesh.cli.localmesh import free_port
from tests.fixtures.engines import tiny_gguf
from tests.integration.conftest import StartNode
from tests.support.processes import run_cli

__all__ = ["tiny_gguf"]  # the fixture, used by name


def lines_of(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_a_good_set_up_passes_every_check(
    start_node: StartNode, tmp_path: Path, tiny_gguf: Path
) -> None:
    member = start_node("--public-addr", "127.0.0.1")
    result = run_cli(
        "doctor", "--data-dir", str(tmp_path / "fresh"), "--http-port", "0",
        "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", member.bootstrap_addr(),
        "--models-dir", str(tiny_gguf.parent), "--public-addr", "127.0.0.1",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = lines_of(result.stdout)
    assert not [line for line in lines if line.startswith("✗")], result.stdout
    assert any(line.startswith("✓ libp2p patches") for line in lines)
    assert any(
        line.startswith("✓ bootstrap /ip4/") and "libp2p node answers" in line for line in lines
    )
    assert any(line.startswith("✓ engine and models: tiny loaded") for line in lines), result.stdout
    assert "all checks passed" in result.stdout


def test_beside_the_running_node_its_own_ports_and_lock_are_fine(start_node: StartNode) -> None:
    listen = f"/ip4/127.0.0.1/tcp/{free_port()}"
    node = start_node(listen=listen)
    result = run_cli(
        "doctor", "--data-dir", str(node.data_dir), "--http-port", str(node.http_port),
        "--listen", listen, "--no-load-models",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"✓ HTTP port: 127.0.0.1:{node.http_port} is held by this node" in result.stdout
    assert "locked by the node running on it (pid" in result.stdout
    assert f"✓ identity: peer id {node.peer_id}" in result.stdout
    assert f"✓ libp2p port {listen}: held by this node (pid" in result.stdout
    assert "the running node has 0 peer(s) connected" in result.stdout


def test_a_bad_set_up_fails_and_says_each_fix(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    nobody = socket.socket()
    nobody.bind(("127.0.0.1", 0))  # bound, never listening: nothing answers there
    with socket.socket() as taken, nobody:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stranger = "12D3KooWJ5EYrFNLAeUKs1vu2AmaU9X5XRGK9tC5uYcmAiU4UnbA"
        unreachable = f"/ip4/127.0.0.1/tcp/{nobody.getsockname()[1]}/p2p/{stranger}"
        result = run_cli(
            "doctor", "--data-dir", str(a_file / "node"), "--http-port", str(port),
            "--listen", f"/ip4/127.0.0.1/tcp/{port}", "--bootstrap", unreachable,
            "--token", "cm1.garbage", "--no-load-models",
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    lines = lines_of(result.stdout)

    def failed_with_fix(check: str, fix: str) -> bool:
        for index, line in enumerate(lines[:-1]):
            if line.startswith(f"✗ {check}"):
                return lines[index + 1].startswith("fix:") and fix in lines[index + 1]
        return False

    assert failed_with_fix("data dir", "choose a --data-dir whose every parent is a directory")
    assert failed_with_fix("HTTP port", "another --http-port"), result.stdout
    assert failed_with_fix("libp2p port", "another --listen port"), result.stdout
    assert failed_with_fix("join token", "computemesh token new"), result.stdout
    assert failed_with_fix(f"bootstrap {unreachable}", "check that the bootstrap node runs")
    assert "5 check(s) failed" in result.stdout


def test_a_valid_token_is_accepted(tmp_path: Path) -> None:
    token = jointoken.new_token([]).encode()
    result = run_cli(
        "doctor", "--data-dir", str(tmp_path / "n"), "--http-port", "0",
        "--listen", "/ip4/127.0.0.1/tcp/0", "--token", token, "--no-load-models",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ join token: a private network's token, with 0 bootstrap(s)" in result.stdout
