"""Node processes on 127.0.0.1: start, query, stop, kill. Used by the demo and the bench."""

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from computemesh.p2p import identity

STOP_TIMEOUT_S = 15.0


# Below Linux's default ephemeral range (32768-60999). A port the OS hands out for
# "any free port" can be taken, before the node binds it, as the source port of one of
# the thousands of connections a 50-node mesh opens; these never are.
LISTEN_PORTS = range(20000, 32768)


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now, outside the ephemeral range, and not handed out
    before by this process (a node started a moment ago may not have bound its port yet:
    50 random picks would collide about one time in ten)."""
    for _ in range(1000):
        port = random.choice(LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS}")


@dataclass
class LocalNode:
    """One ``computemesh node start`` process listening on loopback."""

    data_dir: Path
    http_port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    # What runs ``computemesh``: tests swap in one that hides the optional extras.
    launcher: list[str] = field(default_factory=lambda: [sys.executable, "-m", "computemesh.cli"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, listen: str = "/ip4/127.0.0.1/tcp/0") -> "LocalNode":
        command = [
            *self.launcher, "node", "start",
            "--data-dir", str(self.data_dir), "--listen", listen,
            "--http-port", str(self.http_port), "--log-level", "WARNING", *self.args,
        ]  # fmt: skip
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The child keeps its own copy of the descriptor; ours closes with the block.
        with (self.data_dir.parent / f"{self.data_dir.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        return self

    def wait_healthy(self, timeout: float = 30.0) -> "LocalNode":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"node exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError(f"node on port {self.http_port} did not become healthy")

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def table(self, *, all: bool = False) -> dict[str, dict[str, Any]]:
        table: dict[str, dict[str, Any]] = self.get("/v1/dnt/table", all=all)
        return table

    def online_ids(self) -> set[str]:
        return {peer["id"] for peer in self.table().values()}

    @property
    def peer_id(self) -> str:
        return identity.load(self.data_dir).peer_id

    def bootstrap_addr(self) -> str:
        """This node's dialable multiaddr (needs ``--public-addr``)."""
        found: list[str] = self.get("/v1/dnt/bootstraps")["bootstraps"]
        return next(a for a in found if a.endswith(self.peer_id))

    def stop(self) -> int:
        """SIGINT (graceful: tombstone, close connections); returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"node {self.http_port} ignored SIGINT: {self.log_tail()}") from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def rss_bytes(self) -> int:
        assert self.process is not None
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def log_tail(self, lines: int = 30) -> str:
        path = self.data_dir.parent / f"{self.data_dir.name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
