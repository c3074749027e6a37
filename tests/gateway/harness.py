"""Real processes for gateway tests and the bench: the test upstream and gateways on 127.0.0.1."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from computemesh.cli.localmesh import free_port

DEV_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class Process:
    """A child process serving HTTP on a loopback port; its output goes to ``log``."""

    command: list[str]
    port: int
    log: Path
    health_path: str
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Process":
        env = {**os.environ, **self.env}
        for name in [name for name, value in self.env.items() if value == ""]:
            del env[name]  # an empty value here means "unset"
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=Path(__file__).parents[2],
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"exited with {self.popen.returncode}: {self.tail()}")
            try:
                if httpx.get(self.url + self.health_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"{self.command[:4]} did not become healthy: {self.tail()}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM: the graceful path (usage flushed)."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def upstream(scratch: Path, node_id: str = "12D3KooWTestUpstream") -> Process:
    port = free_port()
    command = [sys.executable, "-m", "tests.gateway.upstream", "--port", str(port)]
    command += ["--node-id", node_id]
    return Process(command, port, scratch / f"upstream-{port}.log", "/v1/models")


def gateway(scratch: Path, nodes: list[str], database_url: str, **env: str) -> Process:
    """A ``computemesh gateway start`` process.

    ``env`` names in lower case become ``COMPUTEMESH_GATEWAY_*`` settings; upper-case
    names (the OCF proxy API's ``SECRET_KEY``, ...) are passed as they are; "" unsets one.
    """
    port = free_port()
    command = [sys.executable, "-m", "computemesh.cli", "gateway", "start"]
    command += ["--port", str(port), "--log-level", "WARNING"]
    settings = {
        "SECRET_KEY": DEV_SECRET,
        "OCF_HEAD_URL": ",".join(nodes),
        "COMPUTEMESH_GATEWAY_DATABASE_URL": database_url,
        **{k if k.isupper() else f"COMPUTEMESH_GATEWAY_{k.upper()}": v for k, v in env.items()},
    }
    return Process(command, port, scratch / f"gateway-{port}.log", "/health", env=settings)


def migrate(database_url: str) -> None:
    """``computemesh gateway migrate``: a server database must be migrated before a start."""
    done = subprocess.run(
        [sys.executable, "-m", "computemesh.cli", "gateway", "migrate"],
        env={"COMPUTEMESH_GATEWAY_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def stored_usage_ids(sqlite_url: str) -> set[str]:
    with sqlite3.connect(Path(sqlite_url.split("///", 1)[1])) as db:
        return {row[0] for row in db.execute("SELECT id FROM usage_records")}
