"""Node and upstream processes inside network namespaces, reached through unix sockets.

Each namespace has its own ports, so every node there uses the same ones; its HTTP API
stays on the namespace's 127.0.0.1 and a ``uds_bridge`` hands it to the test.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from computemesh.p2p import identity
from tests.support.netns import Namespace

HTTP_PORT = 8092
Processes = list["subprocess.Popen[bytes]"]


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


@dataclass
class NsNode:
    """One ``computemesh node start`` in ``namespace``, listening on ``listen_port``."""

    namespace: Namespace
    data_dir: Path
    listen_port: int = 4001
    http_port: int = HTTP_PORT
    processes: Processes = field(default_factory=list)

    @property
    def socket(self) -> str:
        return str(self.data_dir.parent / f"{self.data_dir.name}.sock")

    @property
    def peer_id(self) -> str:
        return identity.load_or_create(self.data_dir, "ed25519").peer_id

    def addr(self, ip: str) -> str:
        return f"/ip4/{ip}/tcp/{self.listen_port}/p2p/{self.peer_id}"

    def start(self, *args: str, env: dict[str, str] | None = None) -> "NsNode":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identity.load_or_create(self.data_dir, "ed25519")  # tests name the peer early
        command = _python(
            "computemesh.cli", "node", "start", "--data-dir", str(self.data_dir),
            "--listen", f"/ip4/0.0.0.0/tcp/{self.listen_port}",
            "--http-port", str(self.http_port), "--log-level", "INFO", *args,
        )  # fmt: skip
        with (self.data_dir.parent / f"{self.data_dir.name}.log").open("ab") as log:
            self.processes.append(
                self.namespace.popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
                )
            )
        port = self.http_port
        bridge = self.namespace.popen(
            _python("tests.support.uds_bridge", "--socket", self.socket, "--port", str(port)),
            stdout=subprocess.PIPE,
        )
        self.processes.append(bridge)
        assert bridge.stdout is not None
        assert bridge.stdout.readline() == b"listening\n"
        return self

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket),
            base_url="http://localhost",
            timeout=timeout,
        )

    def get(self, path: str, **params: Any) -> Any:
        with self.client(10) as client:
            response = client.get(path, params=params)
            response.raise_for_status()
            return response.json()

    def wait_healthy(self, timeout: float = 30.0) -> "NsNode":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[0].poll() is not None:
                raise RuntimeError(f"node exited: {self.log_tail()}")
            try:
                self.get("/v1/health")
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(f"node in {self.namespace.name} did not become healthy")

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    def log_tail(self, lines: int = 40) -> str:
        path = self.data_dir.parent / f"{self.data_dir.name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_upstream(namespace: Namespace, port: int, *args: str) -> "subprocess.Popen[bytes]":
    """``tests.support.openai_upstream`` on the namespace's loopback."""
    process = namespace.popen(
        _python("tests.support.openai_upstream", "--port", str(port), *args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process
