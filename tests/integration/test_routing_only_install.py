"""``pip install computemesh`` without extras: a working node, and clear lines for the rest.

The processes run with every module of the gateway and inference extras unimportable,
as on a routing-only install (tests/support/without_extras.py).
"""

import subprocess
from pathlib import Path

from computemesh.cli.localmesh import LocalNode, free_port, wait_until
from tests.support.without_extras import LAUNCHER


def test_two_nodes_make_a_mesh_without_the_extras(tmp_path: Path) -> None:
    first = LocalNode(tmp_path / "first", args=["--public-addr", "127.0.0.1"], launcher=LAUNCHER)
    first.start().wait_healthy()
    try:
        second = LocalNode(
            tmp_path / "second", args=["--bootstrap", first.bootstrap_addr()], launcher=LAUNCHER
        )
        second.start().wait_healthy()
        try:
            both = {first.peer_id, second.peer_id}
            assert wait_until(lambda: second.online_ids() == both, timeout=30)
        finally:
            assert second.stop() == 0
    finally:
        assert first.stop() == 0


def _refused(*args: str) -> str:
    done = subprocess.run([*LAUNCHER, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    return line


def test_local_models_say_which_extra_to_install(tmp_path: Path) -> None:
    line = _refused("serve", "--data-dir", str(tmp_path), "--port", str(free_port()))
    assert line.startswith("cannot start: serving local models needs the inference extra")
    assert "pip install 'computemesh[inference]'" in line


def test_the_gateway_says_which_extra_to_install(tmp_path: Path) -> None:
    line = _refused("gateway", "start", "--dev", "--data-dir", str(tmp_path))
    assert "the gateway needs the gateway extra" in line
    assert "pip install 'computemesh[gateway]'" in line
