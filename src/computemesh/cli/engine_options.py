"""Flags of the local engine, shared by ``node start`` and ``serve``."""

from pathlib import Path
from typing import Annotated, Any

import typer

ModelsDir = Annotated[
    Path | None, typer.Option(help="serve every *.gguf in this folder (model id = file stem)")
]
Embeddings = Annotated[
    bool | None,
    typer.Option("--embeddings/--no-embeddings", help="serve the packaged all-MiniLM-L6-v2"),
]
Threads = Annotated[int | None, typer.Option(help="CPU threads per model")]
Parallel = Annotated[int | None, typer.Option(help="parallel slots per model")]
CtxSize = Annotated[int | None, typer.Option(help="context tokens of each slot")]


def engine_flags(
    models_dir: Path | None,
    default_model: bool | None,
    embeddings: bool | None,
    threads: int | None,
    parallel: int | None,
    ctx_size: int | None,
) -> dict[str, Any] | None:
    """The engine flags given on the command line, or None when none was."""
    given = {
        "models_dir": models_dir,
        "serve_default_model": default_model,
        "embeddings": embeddings,
        "threads": threads,
        "parallel": parallel,
        "ctx_size": ctx_size,
    }
    flags = {key: value for key, value in given.items() if value is not None}
    return flags or None
