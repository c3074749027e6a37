"""``computemesh token new``: a join token for a private network."""

from typing import Annotated

import typer

from computemesh.jointoken import new_token

app = typer.Typer(help="Join tokens of private networks.", no_args_is_help=True)


@app.command()
def new(
    bootstrap: Annotated[
        list[str] | None, typer.Option(help="bootstrap multiaddr to embed")
    ] = None,
) -> None:
    """Print a new token; start every node of the network with --token <it>."""
    print(new_token(bootstrap or []).encode())
