"""Upstream and command-line processes on 127.0.0.1 for tests and benches, always ended."""

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from computemesh.cli.localmesh import free_port


@dataclass
class UpstreamProcess:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def start_upstream(*args: str, timeout: float = 20.0) -> UpstreamProcess:
    port = free_port()
    command = [sys.executable, "-m", "tests.support.openai_upstream", "--port", str(port), *args]
    upstream = UpstreamProcess(port, subprocess.Popen(command))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{upstream.url}/health", timeout=1)
            if answer.status_code == 200 or "--post-only" in args:  # it has no health route
                return upstream
        except httpx.HTTPError:
            time.sleep(0.05)
    upstream.kill()
    raise RuntimeError(f"upstream on port {port} did not start")


def upstream(started: list[UpstreamProcess], *args: str) -> UpstreamProcess:
    process = start_upstream(*args)
    started.append(process)
    return process


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``computemesh ARGS`` run to its end (it must end within ``timeout`` s)."""
    return subprocess.run(
        [sys.executable, "-m", "computemesh.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
