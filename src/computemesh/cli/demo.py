"""``computemesh demo``: a 3-node mesh on loopback, its converged table, a clean stop."""

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import typer
from rich.console import Console

from computemesh.cli.localmesh import LocalNode, wait_until
from computemesh.cli.node import render_table

console = Console(width=120)
CONVERGE_TIMEOUT_S = 30.0


class _Upstream(BaseHTTPRequestHandler):
    """Stands in for a model server until the inference issue lands: answers /health."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def demo(nodes: int = typer.Option(3, min=2, max=20, help="how many nodes")) -> None:
    """Start a small mesh on 127.0.0.1, show the converged node table, stop cleanly."""
    running: list[LocalNode] = []
    scratch_dir = tempfile.TemporaryDirectory(prefix="computemesh-demo-")
    with scratch_dir as scratch, upstream() as service_port:
        try:
            with console.status(f"starting {nodes} nodes on 127.0.0.1 ..."):
                first = LocalNode(Path(scratch, "n0"), args=["--public-addr", "127.0.0.1"])
                running.append(first.start())
                first.wait_healthy()
                source = f"{first.url}/v1/dnt/bootstraps"
                for index in range(1, nodes):
                    args = ["--bootstrap-source", source,
                            "--service", f"llm=http://127.0.0.1:{service_port}",
                            "--identity-group", f"llm:model=demo-model-{index}"]  # fmt: skip
                    running.append(LocalNode(Path(scratch, f"n{index}"), args=args).start())
                for node in running:
                    node.wait_healthy()
            with console.status("waiting for every node to see every other ..."):
                started = time.monotonic()
                if not wait_until(lambda: all(len(n.table()) == nodes for n in running), 30):
                    console.print(f"[red]the mesh did not converge:[/red] {first.table()}")
                    raise typer.Exit(1)
            console.print(f"[green]converged[/green] in {time.monotonic() - started:.2f} s")
            console.print(render_table(first.table(), title="the node table as node 0 sees it"))
        finally:
            for node in running:
                node.stop()
    console.print("[green]all nodes stopped cleanly[/green]")
