"""``computemesh gateway start|migrate``.

The gateway's own modules (SQLAlchemy, Alembic, eth-account, Redis, uvicorn) are
imported inside the commands: every ``computemesh`` process loads this CLI module,
and a node should not carry the gateway's libraries.
"""

from pathlib import Path
from typing import Annotated

import anyio
import typer
from pydantic import ValidationError
from rich.console import Console

from computemesh.config import GatewaySettings
from computemesh.errors import ComputemeshError
from computemesh.logging import setup_logging

app = typer.Typer(help="Run the gateway (accounts, API keys, usage, limits).", no_args_is_help=True)
console = Console(width=120)

ConfigOpt = Annotated[Path | None, typer.Option(help="TOML settings file")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(help="SQLAlchemy async URL (sqlite+aiosqlite:///…, postgresql+asyncpg://…)"),
]


@app.command()
def start(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default 8000)")] = None,
    node: Annotated[
        list[str] | None, typer.Option(help="node URL (repeat; as OCF_HEAD_URL)")
    ] = None,
    database_url: DatabaseOpt = None,
    redis_url: Annotated[
        str | None, typer.Option(help="Redis URL: limits shared by replicas")
    ] = None,
    dev: Annotated[
        bool | None, typer.Option("--dev", help="allow a missing SECRET_KEY (random per process)")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
) -> None:
    """Start the gateway: migrate SQLite, serve HTTP until SIGINT/SIGTERM, flush usage."""
    settings = _settings(
        config,
        host=host,
        port=port,
        ocf_head_url=node or None,
        database_url=database_url,
        redis_url=redis_url,
        dev=dev,
        log_level=log_level,
    )
    setup_logging(settings.log_level)
    try:
        # The app prepares the database again on start; doing it here first turns a
        # schema problem into one clear line instead of a failed-lifespan traceback.
        anyio.run(_prepare, settings.database_url)
    except ComputemeshError as error:
        console.print(f"[red]cannot start:[/red] {error}")
        raise typer.Exit(1) from None
    import uvicorn

    from computemesh.gateway.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            loop="uvloop",
            http="httptools",
            lifespan="on",
        )
    )
    server.run()
    if not server.started:
        raise typer.Exit(1)


@app.command()
def migrate(
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Bring the database schema up to date (the way to migrate PostgreSQL)."""
    # Migrating signs no tokens, so no SECRET_KEY is needed for it.
    settings = _settings(config, database_url=database_url, dev=True)
    try:
        anyio.run(_migrate, settings.database_url)
    except Exception as error:  # driver errors vary by database; show them, no traceback
        console.print(f"[red]migration failed:[/red] {type(error).__name__}: {error}")
        raise typer.Exit(1) from None
    console.print("database is at the latest schema")


async def _prepare(url: str) -> None:
    from computemesh.gateway.db import Database

    db = Database(url)
    try:
        await db.prepare()
    finally:
        await db.close()


async def _migrate(url: str) -> None:
    from computemesh.gateway.db import Database
    from computemesh.gateway.db.migrate import upgrade

    db = Database(url)
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
            console.print(f"[red]invalid settings:[/red] {where}: {problem['msg']}")
        raise typer.Exit(2) from None
    except ComputemeshError as error:
        console.print(f"[red]invalid settings:[/red] {error}")
        raise typer.Exit(2) from None
