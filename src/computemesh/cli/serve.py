"""``computemesh serve``: OffGrid in one command, a standalone node with local models.

No mesh: libp2p listens on loopback only and no bootstrap is dialled. The node serves
the OpenAI / OffGrid API on port 11611 for the packaged SmolLM2 (unless
``--no-default-model``) and every GGUF in ``--models-dir``.
"""

import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from computemesh.cli import node
from computemesh.cli.engine_options import (
    CtxSize,
    Embeddings,
    ModelsDir,
    Parallel,
    Threads,
    engine_flags,
)
from computemesh.cli.failure import INVALID_SETTINGS, fail, refuse_settings
from computemesh.config import NodeSettings
from computemesh.errors import ComputemeshError
from computemesh.node.api.state import NodeState
from computemesh.registry import view
from computemesh.routing.catalog import mesh_models

OFFGRID_PORT = 11611
console = Console(width=120)


def serve(
    models_dir: ModelsDir = None,
    default_model: Annotated[
        bool,
        typer.Option(
            "--default-model/--no-default-model", help="serve the packaged SmolLM2-135M-Instruct"
        ),
    ] = True,
    embeddings: Embeddings = None,
    threads: Threads = None,
    parallel: Parallel = None,
    ctx_size: CtxSize = None,
    host: Annotated[str, typer.Option(help="HTTP address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = OFFGRID_PORT,
    data_dir: Annotated[Path, typer.Option(help="holds this server's key")] = Path(
        "~/.computemesh/serve"
    ),
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "WARNING",
) -> None:
    """Serve local models on the OpenAI / OffGrid API, offline, with no mesh."""
    engine = engine_flags(models_dir, default_model, embeddings, threads, parallel, ctx_size)
    try:
        settings = NodeSettings.load(
            data_dir=data_dir,
            standalone=True,
            listen=["/ip4/127.0.0.1/tcp/0"],
            http_host=host,
            http_port=port,
            engine=engine,
            log_level=log_level,
        )
    except (ValidationError, ComputemeshError) as error:
        refuse_settings(error)
    if not settings.engine.wanted:
        fail("nothing to serve", "give --models-dir or keep the default model", INVALID_SETTINGS)
    node.run(settings, lambda state: _announce(state, host, port))


def _announce(state: NodeState, host: str, port: int) -> None:
    models = mesh_models(view.rows(state.sync, time.time(), state.online_window))
    console.print(f"[green]serving[/green] {', '.join(models)} on http://{host}:{port}/v1")
