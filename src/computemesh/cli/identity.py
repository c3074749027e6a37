"""``computemesh identity new|show``."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from computemesh.config import NodeSettings
from computemesh.errors import IdentityError
from computemesh.p2p import identity

app = typer.Typer(help="The node's libp2p identity key.", no_args_is_help=True)
console = Console()
DataDir = Annotated[Path | None, typer.Option(help="holds the identity key")]


def _data_dir(data_dir: Path | None) -> Path:
    return NodeSettings.load(data_dir=data_dir).data_dir


@app.command()
def new(
    data_dir: DataDir = None,
    key_type: Annotated[str, typer.Option(help="ed25519 or secp256k1")] = "ed25519",
    force: Annotated[bool, typer.Option("--force", help="replace an existing key")] = False,
) -> None:
    """Create a new identity key (the node's peer id changes)."""
    directory = _data_dir(data_dir)
    if identity.key_path(directory).exists() and not force:
        console.print(
            f"[red]{identity.key_path(directory)} exists;[/red] pass --force to replace it"
        )
        raise typer.Exit(1)
    try:
        created = identity.generate(key_type)
    except IdentityError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    path = identity.save(created, directory)
    console.print(f"{created.peer_id}  ({created.key_type}, {path})")


@app.command()
def show(data_dir: DataDir = None) -> None:
    """Print the peer id of the stored key."""
    try:
        stored = identity.load(_data_dir(data_dir))
    except IdentityError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    print(stored.peer_id)
