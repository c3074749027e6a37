"""``computemesh serve``: OffGrid in one command, a standalone node with local models.

No mesh: libp2p listens on loopback only and no bootstrap is dialled, whatever the
settings say. The node serves the OpenAI / OffGrid API on port 11611 for the packaged
SmolLM2 (unless ``--no-default-model``) and every GGUF in ``--models-dir``.
"""

import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from computemesh.cli import node
from computemesh.cli.failure import INVALID_SETTINGS, fail, refuse_settings
from computemesh.cli.flagsets import SERVE
from computemesh.config.serve import ServeSettings
from computemesh.errors import ComputemeshError
from computemesh.node.api.state import NodeState
from computemesh.registry import view
from computemesh.routing.catalog import mesh_models

# Not settings: what makes serve a server on its own rather than a mesh node.
NO_MESH = {"standalone": True, "listen": ["/ip4/127.0.0.1/tcp/0"]}
console = Console(width=120)


def serve_body(config: Path | None, flags: dict[str, Any]) -> None:
    """Serve local models on the OpenAI / OffGrid API, offline, with no mesh."""
    try:
        settings = ServeSettings.load(config, **flags, **NO_MESH)
    except (ValidationError, ComputemeshError) as error:
        refuse_settings(error)
    if not settings.engine.wanted:
        fail("nothing to serve", "give --models-dir or keep the default model", INVALID_SETTINGS)
    host, port = settings.http_host, settings.http_port
    node.run(settings, lambda state: _announce(state, host, port))


serve = SERVE.command(serve_body)


def _announce(state: NodeState, host: str, port: int) -> None:
    models = mesh_models(view.rows(state.sync, time.time(), state.online_window))
    console.print(f"[green]serving[/green] {', '.join(models)} on http://{host}:{port}/v1")
