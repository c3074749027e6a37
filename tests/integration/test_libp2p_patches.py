"""A node on a py-libp2p that changed under one of our patches refuses to start, naming it.

The changed py-libp2p is real: a copy of the installed package with one line added to
``Yamux._write_frame`` (which ``sealed_frames`` and ``frame_writes`` replace), put first
on the node process's ``PYTHONPATH``.
"""

import os
import shutil
from pathlib import Path

import libp2p
import pytest

from computemesh.cli.localmesh import free_port
from computemesh.p2p import host as _all_patches  # noqa: F401  (imports every patch module)
from computemesh.p2p.patch_registry import declared
from tests.integration.conftest import StartNode
from tests.support.processes import run_cli

WRITE_FRAME_DOC = '        """Write a frame to the connection, serializing all writes."""\n'


@pytest.fixture
def changed_libp2p(tmp_path: Path) -> dict[str, str]:
    """The environment of a process that imports the changed copy of py-libp2p."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(libp2p.__file__).parent,
        site / "libp2p",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    yamux = site / "libp2p" / "stream_muxer" / "yamux" / "yamux.py"
    text = yamux.read_text()
    assert WRITE_FRAME_DOC in text  # the line this test edits after
    yamux.write_text(text.replace(WRITE_FRAME_DOC, WRITE_FRAME_DOC + "        pass\n", 1))
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


def test_a_changed_target_refuses_the_start_in_one_line(
    tmp_path: Path, changed_libp2p: dict[str, str]
) -> None:
    done = run_cli(
        "node", "start", "--data-dir", str(tmp_path / "data"),
        "--listen", "/ip4/127.0.0.1/tcp/0", "--http-port", str(free_port()),
        env=changed_libp2p,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert "sealed_frames (libp2p.stream_muxer.yamux.yamux.Yamux._write_frame changed)" in line
    assert "frame_writes" in line
    assert "allow_changed_libp2p" in line
    assert "quick_locks" not in line  # only what changed is named


def test_allow_changed_libp2p_starts_with_a_warning(
    start_node: StartNode, changed_libp2p: dict[str, str]
) -> None:
    env = {**changed_libp2p, "COMPUTEMESH_ALLOW_CHANGED_LIBP2P": "true"}
    node = start_node(name="allowed", env=env)
    patches = node.get("/v1/dnt/stats")["libp2p_patches"]
    changed = {(p["name"], p["target"]) for p in patches if p["status"] == "changed"}
    assert changed == {
        ("sealed_frames", "libp2p.stream_muxer.yamux.yamux.Yamux._write_frame"),
        ("frame_writes", "libp2p.stream_muxer.yamux.yamux.Yamux._write_frame"),
    }
    [warning] = [line for line in node.log_tail(200).splitlines() if "allow_changed_libp2p" in line]
    assert "sealed_frames" in warning


def test_stats_list_every_patch_in_force(start_node: StartNode) -> None:
    node = start_node()
    patches = node.get("/v1/dnt/stats")["libp2p_patches"]
    assert {p["name"] for p in patches} == {patch.name for patch in declared()}
    assert {p["status"] for p in patches} == {"matches"}
    assert {
        "name": "ready_io",
        "target": "libp2p.io.trio.TrioTCPStream.read",
        "status": "matches",
    } in patches
