"""``computemesh demo``: a 3-node mesh on loopback, its converged table, a clean stop."""

import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console

from computemesh.cli.node import render_table

console = Console()
CONVERGE_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_node(data_dir: Path, http_port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "computemesh.cli", "node", "start",
        "--data-dir", str(data_dir),
        "--listen", "/ip4/127.0.0.1/tcp/0",
        "--http-port", str(http_port),
        "--log-level", "WARNING",
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_healthy(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"node on port {port} did not become healthy")


def table_of(port: int) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = httpx.get(f"http://127.0.0.1:{port}/v1/dnt/table", timeout=5).json()
    return table


def demo(nodes: int = typer.Option(3, min=2, max=20, help="how many nodes")) -> None:
    """Start a small mesh on 127.0.0.1, show the converged node table, stop cleanly."""
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="computemesh-demo-") as scratch:
        ports = [free_port() for _ in range(nodes)]
        try:
            with console.status(f"starting {nodes} nodes on 127.0.0.1 ..."):
                deadline = time.monotonic() + CONVERGE_TIMEOUT_S
                processes.append(start_node(Path(scratch, "n0"), ports[0], ["--public-addr", "127.0.0.1"]))
                wait_healthy(ports[0], deadline)
                source = f"http://127.0.0.1:{ports[0]}/v1/dnt/bootstraps"
                for index, port in enumerate(ports[1:], start=1):
                    extra = ["--bootstrap-source", source, "--service", f"llm=http://127.0.0.1:{9000 + index}",
                             "--identity-group", f"llm:model=demo-{index}"]  # fmt: skip
                    processes.append(start_node(Path(scratch, f"n{index}"), port, extra))
                for port in ports:
                    wait_healthy(port, deadline)
            with console.status("waiting for every node to see every other ..."):
                started = time.monotonic()
                while any(len(table_of(p)) < nodes for p in ports):
                    if time.monotonic() > deadline:
                        raise TimeoutError("the mesh did not converge")
                    time.sleep(0.1)
            console.print(f"[green]converged[/green] in {time.monotonic() - started:.2f} s; node 0 sees:")
            console.print(render_table(table_of(ports[0])))
        finally:
            stop_all(processes)
    console.print("[green]all nodes stopped cleanly[/green]")


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            console.print(f"[red]node {process.pid} did not stop in time; killed[/red]")
