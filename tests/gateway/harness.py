"""Real processes for gateway tests and the bench: the test upstream and gateways on 127.0.0.1."""

import os
import signal
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
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
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
    """A ``computemesh gateway start`` process; ``env`` adds COMPUTEMESH_GATEWAY_* settings."""
    port = free_port()
    command = [sys.executable, "-m", "computemesh.cli", "gateway", "start"]
    command += ["--port", str(port), "--log-level", "WARNING"]
    settings = {
        "SECRET_KEY": DEV_SECRET,
        "OCF_HEAD_URL": ",".join(nodes),
        "COMPUTEMESH_GATEWAY_DATABASE_URL": database_url,
        **{f"COMPUTEMESH_GATEWAY_{k.upper()}": v for k, v in env.items()},
    }
    return Process(command, port, scratch / f"gateway-{port}.log", "/health", env=settings)
