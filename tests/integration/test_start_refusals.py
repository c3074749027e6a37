"""Bad input at start: one clear line on stderr and a non-zero exit, never a traceback.

Each case runs for real, as ``computemesh node start`` and as ``computemesh serve``.
"""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from computemesh.cli.localmesh import free_port
from tests.support.processes import run_cli

BUSY = "busy"  # in a case's arguments: replaced by a port the test listens on


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another process (this test) already listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        yield holder.getsockname()[1]


# (case, node start arguments, serve arguments (None: not a serve option), env, what the line says)
CASES = [
    ("toml", ["--config", "{tmp}/bad.toml"], None, {}, "is not valid TOML"),
    ("env-json", [], [], {"COMPUTEMESH_BOOTSTRAP": "[not json"}, "environment are JSON"),
    ("under-a-file", ["--data-dir", "{tmp}/file/dir"], ..., {}, "Not a directory"),
    ("a-file", ["--data-dir", "{tmp}/file"], ..., {}, "not a directory"),
    ("in-proc", ["--data-dir", "/proc/self/computemesh"], ..., {}, "cannot use data dir"),
    ("http-port", ["--http-port", BUSY], ["--port", BUSY], {}, "Address already in use"),
    ("libp2p-port", ["--listen", f"/ip4/127.0.0.1/tcp/{BUSY}"], None, {}, "Address already in use"),
    ("log-level", ["--log-level", "BOGUS"], ..., {}, "unknown log level 'BOGUS'"),
    ("not-multiaddr", ["--bootstrap", "nonsense"], [], {"COMPUTEMESH_BOOTSTRAP": '["nonsense"]'},
     "invalid bootstrap"),
    ("no-peer-id", ["--bootstrap", "/ip4/127.0.0.1/tcp/1"], [],
     {"COMPUTEMESH_BOOTSTRAP": '["/ip4/127.0.0.1/tcp/1"]'}, "/p2p/<peer id>"),
]  # fmt: skip


def _cases() -> Iterator[object]:
    for case, node_args, serve_args, env, said in CASES:
        yield pytest.param("node", node_args, env, said, id=f"node-{case}")
        if serve_args is not None:
            args = node_args if serve_args is ... else serve_args
            yield pytest.param("serve", args, env, said, id=f"serve-{case}")


def _command(kind: str, args: list[str], tmp: Path) -> list[str]:
    """The command with the case's arguments last, so that they win over the defaults."""
    if kind == "node":
        base = ["node", "start", "--data-dir", f"{tmp}/data", "--listen", "/ip4/127.0.0.1/tcp/0"]
        base += ["--http-port", str(free_port()), "--log-level", "WARNING"]
    else:
        (tmp / "models").mkdir()
        base = ["serve", "--no-default-model", "--models-dir", f"{tmp}/models"]
        base += ["--data-dir", f"{tmp}/data", "--port", str(free_port())]
    return [*base, *args]


@pytest.mark.parametrize(("kind", "args", "env", "said"), list(_cases()))
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(
    tmp_path: Path, busy_port: int, kind: str, args: list[str], env: dict[str, str], said: str
) -> None:
    (tmp_path / "bad.toml").write_text("listen = [\n")
    (tmp_path / "file").write_text("a regular file\n")
    given = [arg.format(tmp=tmp_path).replace(BUSY, str(busy_port)) for arg in args]
    done = run_cli(*_command(kind, given, tmp_path), env=env)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert said in line
