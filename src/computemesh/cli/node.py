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

from computemesh.cli.engine_options import (
    CtxSize,
    Embeddings,
    ModelsDir,
    Parallel,
    Threads,
    engine_flags,
)
from computemesh.cli.failure import computemesh_error, fail, refuse_settings
from computemesh.config import NodeSettings
from computemesh.errors import ComputemeshError
from computemesh.inference import RichProgress
from computemesh.logging import setup_logging
from computemesh.node.daemon import Ready, run_node

app = typer.Typer(help="Run a mesh node or look at one.", no_args_is_help=True)
console = Console(width=120)
COLUMNS = ("peer id", "status", "connected", "latency", "services", "load", "memory MiB", "GPUs")


@app.command()
def start(
    config: Annotated[Path | None, typer.Option(help="TOML settings file")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="holds the identity key")] = None,
    key_type: Annotated[str | None, typer.Option(help="ed25519 or secp256k1 (first start)")] = None,
    listen: Annotated[list[str] | None, typer.Option(help="libp2p listen multiaddr")] = None,
    http_host: Annotated[str | None, typer.Option(help="HTTP API address")] = None,
    http_port: Annotated[int | None, typer.Option(help="HTTP API port")] = None,
    public_addr: Annotated[
        str | None, typer.Option(help="public IP; lists this node as a bootstrap")
    ] = None,
    standalone: Annotated[bool | None, typer.Option("--standalone", help="join no mesh")] = None,
    bootstrap: Annotated[list[str] | None, typer.Option(help="bootstrap multiaddr")] = None,
    bootstrap_source: Annotated[
        list[str] | None, typer.Option(help="URL of a bootstraps list")
    ] = None,
    token: Annotated[str | None, typer.Option(help="join token of a private network")] = None,
    admin_token: Annotated[
        str | None, typer.Option(help="bearer token for operator endpoints")
    ] = None,
    service: Annotated[list[str] | None, typer.Option(help="NAME=URL of a local service")] = None,
    identity_group: Annotated[list[str] | None, typer.Option(help="NAME:KEY=VALUE")] = None,
    owner: Annotated[str | None, typer.Option(help="owner wallet address")] = None,
    record_ttl: Annotated[float | None, typer.Option(help="seconds a record stays valid")] = None,
    relay: Annotated[
        bool | None,
        typer.Option(
            "--relay/--no-relay", help="relay for nodes behind NAT while reachable (default on)"
        ),
    ] = None,
    models_dir: ModelsDir = None,
    default_model: Annotated[
        bool | None,
        typer.Option(
            "--default-model/--no-default-model", help="serve the packaged SmolLM2-135M-Instruct"
        ),
    ] = None,
    embeddings: Embeddings = None,
    threads: Threads = None,
    parallel: Parallel = None,
    ctx_size: CtxSize = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
) -> None:
    """Start a node: join the mesh, keep the node table, serve the HTTP API.

    Local models run only when asked for (--models-dir, --default-model, --embeddings).
    """
    try:
        settings = NodeSettings.load(
            config,
            data_dir=data_dir,
            key_type=key_type,
            listen=listen or None,
            http_host=http_host,
            http_port=http_port,
            public_addr=public_addr,
            standalone=standalone,
            bootstrap=bootstrap or None,
            bootstrap_source=bootstrap_source or None,
            token=token,
            admin_token=admin_token,
            service=service or None,
            identity_group=identity_group or None,
            owner=owner,
            record_ttl=record_ttl,
            relay_service=relay,
            engine=engine_flags(models_dir, default_model, embeddings, threads, parallel, ctx_size),
            log_level=log_level,
        )
    except (ValidationError, ComputemeshError) as error:
        refuse_settings(error)
    run(settings)


def run(settings: NodeSettings, on_ready: Ready | None = None) -> None:
    """Run a node in the foreground with model loads shown; errors exit with status 1."""
    setup_logging(settings.log_level)
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
