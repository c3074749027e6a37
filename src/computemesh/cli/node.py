"""``computemesh node start|status``."""

from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from computemesh.cli.extras import require
from computemesh.cli.failure import computemesh_error, fail, refuse_settings
from computemesh.cli.flagsets import NODE_START
from computemesh.config import NodeSettings
from computemesh.errors import ComputemeshError
from computemesh.inference import RichProgress
from computemesh.logging import setup_logging
from computemesh.node.daemon import Ready, run_node

app = typer.Typer(help="Run a mesh node or look at one.", no_args_is_help=True)
console = Console(width=120)
COLUMNS = ("peer id", "status", "connected", "latency", "services", "load", "memory MiB", "GPUs")


def start(config: Path | None, flags: dict[str, Any]) -> None:
    """Start a node: join the mesh, keep the node table, serve the HTTP API.

    Local models run only when asked for (--models-dir, --default-model, --embeddings).
    Each flag's setting is also read from COMPUTEMESH_* and the --config file.
    """
    try:
        settings = NodeSettings.load(config, **flags)
    except (ValidationError, ComputemeshError) as error:
        refuse_settings(error)
    run(settings)


app.command("start")(NODE_START.command(start))


def run(settings: NodeSettings, on_ready: Ready | None = None) -> None:
    """Run a node in the foreground with model loads shown; errors exit with status 1."""
    if settings.engine.wanted:
        require("inference", "serving local models")
    setup_logging(settings.log_level, settings.log_format, settings.access_log)
    try:
        anyio.run(run_node, settings, on_ready, RichProgress(), backend="trio")
    except (ComputemeshError, BaseExceptionGroup) as error:
        known = computemesh_error(error)
        if known is None:
            raise
        fail("error", str(known))


@app.command()
def status(
    api: Annotated[str, typer.Option(help="a running node's HTTP API")] = "http://127.0.0.1:8092",
    all: Annotated[bool, typer.Option("--all", help="include nodes not seen recently")] = False,
) -> None:
    """Show the mesh as a running node sees it."""
    try:
        response = httpx.get(f"{api.rstrip('/')}/v1/dnt/table", params={"all": all}, timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as error:
        console.print(f"[red]cannot read {api}:[/red] {error}")
        raise typer.Exit(1) from None
    console.print(render_table(response.json()))


def render_table(peers: dict[str, dict[str, Any]], title: str = "computemesh") -> Table:
    """The OCF ``/v1/dnt/table`` JSON as a rich table."""
    table = Table(title=f"{title}: {len(peers)} nodes")
    for column in COLUMNS:
        table.add_column(column)
    for peer in peers.values():
        services = ", ".join(
            f"{s['name']} {' '.join(s['identity_group'])} ({s['status']})" for s in peer["service"]
        )
        hardware = peer["hardware"]
        latency = peer["latency"]
        table.add_row(
            _short(peer["id"]),
            peer["status"],
            "yes" if peer["connected"] else "no",
            f"{latency} ms" if latency else "<1 ms",
            escape(services) or "-",
            str(peer["load"][0] if peer["load"] else 0),
            str(hardware["host_memory"]),
            ", ".join(g["name"] for g in hardware["gpus"]) or "-",
        )
    return table


def _short(peer_id: str) -> str:
    return f"{peer_id[:10]}…{peer_id[-6:]}"
