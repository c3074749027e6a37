"""``computemesh gateway start`` with what an operator gets wrong: each refusal is one clear
line on stderr and a non-zero exit, never a traceback or a silent exit. Also where the
default database lives, and what the start warns about. Real processes throughout."""

import os
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from computemesh.cli.localmesh import free_port
from tests.gateway import harness
from tests.gateway.conftest import need_server

StartGateway = Callable[..., harness.Process]


def start_refused(
    tmp_path: Path, database_url: str, flags: dict[str, str] | None = None, **env: str
) -> tuple[int, str]:
    """Run a gateway that must refuse to start: its exit status and its one line of stderr.

    ``flags`` replace or add command-line options (``{"--port": "8000"}``).
    """
    process = harness.gateway(tmp_path, ["http://127.0.0.1:9"], database_url, **env)
    command = process.command
    for flag, value in (flags or {}).items():
        if flag in command:
            command[command.index(flag) + 1] = value
        else:
            command += [flag, value]
    environ = {**os.environ, **process.env, "COLUMNS": "80"}  # long lines must not wrap
    for name in [name for name, value in process.env.items() if value == ""]:
        del environ[name]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return done.returncode, lines[0]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something other than the gateway or Redis listens on (it never answers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_redis_unreachable(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    _, line = start_refused(tmp_path, sqlite_url, redis_url=f"redis://127.0.0.1:{port}/0")
    assert line.startswith(f"cannot start: Redis at 127.0.0.1:{port} cannot be used")


def test_redis_url_on_a_server_that_is_not_redis(
    tmp_path: Path, sqlite_url: str, upstream: harness.Process, listening: int
) -> None:
    for port in (upstream.port, listening):  # an HTTP server, a server that never answers
        _, line = start_refused(tmp_path, sqlite_url, redis_url=f"redis://127.0.0.1:{port}/0")
        assert line.startswith(f"cannot start: Redis at 127.0.0.1:{port} cannot be used")


def test_own_port_in_use(tmp_path: Path, sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _, line = start_refused(tmp_path, sqlite_url, {"--port": str(port)})
    assert line == f"cannot start: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_unsupported_database(tmp_path: Path) -> None:
    status, line = start_refused(tmp_path, "mysql://gateway:hunter2@127.0.0.1/db")
    assert status == 2
    assert line.startswith("invalid settings: database_url: unsupported database (mysql)")
    assert "hunter2" not in line


def test_unreachable_postgres(tmp_path: Path) -> None:
    port = free_port()
    _, line = start_refused(tmp_path, f"postgresql+asyncpg://gw:hunter2@127.0.0.1:{port}/test")
    assert line.startswith("cannot start: cannot use the database postgresql+asyncpg://gw:***@")
    assert "Connect call failed" in line
    assert "hunter2" not in line


def test_missing_postgres_database(tmp_path: Path) -> None:
    need_server(5432, "PostgreSQL")
    _, line = start_refused(tmp_path, "postgresql://postgres@127.0.0.1:5432/no_such_gateway_db")
    assert line.endswith('database "no_such_gateway_db" does not exist')


def test_sqlite_file_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    _, line = start_refused(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'file' / 'gateway.db'}")
    assert line.startswith("cannot start: cannot use the database sqlite+aiosqlite:///")
    assert line.endswith("unable to open database file")


def test_sqlite_file_in_a_folder_it_may_not_write(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        folder = Path("/proc")  # root may write anywhere, but not there
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=stat.S_IRUSR | stat.S_IXUSR)
    _, line = start_refused(tmp_path, f"sqlite+aiosqlite:///{folder / 'gateway.db'}")
    assert line.endswith("unable to open database file")


def test_data_dir_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    _, line = start_refused(tmp_path, "", data_dir=str(tmp_path / "file" / "gateway"))
    assert (
        line == f"cannot start: cannot create the data dir {tmp_path}/file/gateway: Not a directory"
    )


def test_bad_log_level_and_bad_toml(tmp_path: Path, sqlite_url: str) -> None:
    status, line = start_refused(tmp_path, sqlite_url, {"--log-level": "BOGUS"})
    assert status == 2
    assert line.startswith("invalid settings: log_level: log level is one of DEBUG")
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [")
    status, line = start_refused(tmp_path, sqlite_url, {"--config": str(bad)})
    assert status == 2
    assert line.startswith("invalid settings: ")
    assert f"{bad} is not valid TOML" in line


def test_default_database_is_in_a_private_data_dir(
    start_gateway: StartGateway, upstream: harness.Process, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    gateway = start_gateway([upstream.url], "", HOME=str(home))
    chat = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gateway.url + "/v1/chat/completions", json=chat).status_code == 200
    data_dir = home / ".computemesh" / "gateway"
    assert (data_dir / "gateway.db").is_file()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    gateway.stop()
    assert len(harness.stored_usage_ids(f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}")) == 1


def test_start_warns_about_open_legacy_routes_and_cors(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    opened = start_gateway([upstream.url], sqlite_url)
    opened.stop()
    log = opened.tail()
    assert "the legacy /v1/* routes serve anyone without an API key" in log
    assert "CORS allows every origin" in log
    closed = start_gateway(
        [upstream.url],
        sqlite_url,
        legacy_requires_key="true",
        cors_origins='["https://app.example"]',
    )
    closed.stop()
    assert "legacy" not in closed.tail()
    assert "CORS" not in closed.tail()
