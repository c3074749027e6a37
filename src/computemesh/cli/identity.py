"""``computemesh identity new|show``: the key of the node that the same settings start."""

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from computemesh.cli.failure import refuse_settings
from computemesh.cli.flagsets import IDENTITY_NEW, IDENTITY_SHOW
from computemesh.cli.settings_flags import own_option
from computemesh.config import NodeSettings
from computemesh.errors import ComputemeshError, IdentityError
from computemesh.p2p import identity

app = typer.Typer(help="The node's libp2p identity key.", no_args_is_help=True)
console = Console()
FORCE = own_option(
    "force", False, Annotated[bool, typer.Option("--force", help="replace an existing key")]
)


def _settings(config: Path | None, flags: dict[str, Any]) -> NodeSettings:
    try:
        return NodeSettings.load(config, **flags)
    except (ValidationError, ComputemeshError) as error:
        refuse_settings(error)


def new(config: Path | None, flags: dict[str, Any], force: bool) -> None:
    """Create a new identity key (the node's peer id changes)."""
    settings = _settings(config, flags)
    directory = settings.data_dir
    if identity.key_path(directory).exists() and not force:
        console.print(
            f"[red]{identity.key_path(directory)} exists;[/red] pass --force to replace it"
        )
        raise typer.Exit(1)
    try:
        created = identity.generate(settings.key_type)
    except IdentityError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    path = identity.save(created, directory)
    console.print(f"{created.peer_id}  ({created.key_type}, {path})")


def show(config: Path | None, flags: dict[str, Any]) -> None:
    """Print the peer id of the stored key."""
    try:
        stored = identity.load(_settings(config, flags).data_dir)
    except IdentityError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    print(stored.peer_id)


app.command("new")(IDENTITY_NEW.command(new, FORCE))
app.command("show")(IDENTITY_SHOW.command(show))
