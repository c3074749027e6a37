"""``computemesh gateway start|migrate``.

The gateway's own modules (SQLAlchemy, Alembic, eth-account, Redis, uvicorn) are
imported inside the commands: every ``computemesh`` process loads this CLI module,
and a node should not carry the gateway's libraries.
"""

import socket
import tomllib
from pathlib import Path
from typing import Any, NoReturn

import anyio
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from computemesh.cli.extras import require
from computemesh.cli.flagsets import GATEWAY_MIGRATE, GATEWAY_START
from computemesh.config import GatewaySettings
from computemesh.errors import ComputemeshError
from computemesh.logging import setup_logging

app = typer.Typer(help="Run the gateway (accounts, API keys, usage, limits).", no_args_is_help=True)
console = Console(width=120)
# Failures go to stderr, each on one line however long.
errors = Console(stderr=True, soft_wrap=True)


def start(config: Path | None, flags: dict[str, Any]) -> None:
    """Start the gateway: migrate SQLite, serve HTTP until SIGINT/SIGTERM, flush usage.

    Whatever stops it from starting (its port taken, the database or Redis unusable)
    is said in one line on stderr, with exit status 1. Each flag's setting is also read
    from the environment and the --config file; SECRET_KEY only from those two.
    """
    settings = _settings(config, **flags)
    require("gateway", "the gateway")
    setup_logging(settings.log_level, settings.log_format, settings.access_log)
    listener = _listen(settings.host, settings.port)
    from computemesh.gateway.startup import preflight

    try:
        anyio.run(preflight, settings)
    except ComputemeshError as error:
        listener.close()
        _fail(str(error))
    import uvicorn

    from computemesh.gateway.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            log_config=None,
            log_level=settings.log_level.lower(),  # the server's own lines, at the same level
            access_log=False,
            # The app reads X-Forwarded-For itself, and only from ``trusted_proxies``.
            proxy_headers=False,
            loop="uvloop",
            http="httptools",
            lifespan="on",
        )
    )
    server.run(sockets=[listener])
    if not server.started:
        raise typer.Exit(1)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else so a taken port is said plainly."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except OSError as error:
        _fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As servers do: a port left in TIME_WAIT is free; one another process listens on is not.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        _fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    return listener


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]cannot start:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(1)


def migrate(config: Path | None, flags: dict[str, Any]) -> None:
    """Bring the database schema up to date (the way to migrate PostgreSQL)."""
    # Migrating signs no tokens, so no SECRET_KEY is needed for it.
    settings = _settings(config, **flags, dev=True)
    require("gateway", "migrating the gateway's database")
    try:
        anyio.run(_migrate, settings)
    except Exception as error:  # driver errors vary by database; show them, no traceback
        errors.print(f"[red]migration failed:[/red] {type(error).__name__}: {escape(str(error))}")
        raise typer.Exit(1) from None
    console.print("database is at the latest schema")


app.command("start")(GATEWAY_START.command(start))
app.command("migrate")(GATEWAY_MIGRATE.command(migrate))


async def _migrate(settings: GatewaySettings) -> None:
    from computemesh.gateway.db import Database
    from computemesh.gateway.db.datadir import make_private_dir
    from computemesh.gateway.db.migrate import upgrade

    if settings.database_in_data_dir:
        make_private_dir(settings.data_dir)
    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
    finally:
        await db.close()


def _settings(config: Path | None, **flags: object) -> GatewaySettings:
    try:
        return GatewaySettings.load(config, **flags)
    except ValidationError as error:
        # include_input=False: the rejected values may be secrets.
        for problem in error.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            message = problem["msg"].removeprefix("Value error, ")
            errors.print(f"[red]invalid settings:[/red] {where}: {escape(message)}")
        raise typer.Exit(2) from None
    except tomllib.TOMLDecodeError as error:
        errors.print(
            f"[red]invalid settings:[/red] {config} is not valid TOML: {escape(str(error))}"
        )
        raise typer.Exit(2) from None
    except (ComputemeshError, OSError) as error:
        errors.print(f"[red]invalid settings:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
