"""``computemesh doctor``: check a node's set-up, print each check (✓/✗) and the fixes."""

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from computemesh.cli.failure import refuse_settings
from computemesh.config import NodeSettings
from computemesh.errors import ComputemeshError
from computemesh.node.doctor import Finding, diagnose

console = Console(soft_wrap=True, highlight=False)  # one line per finding, however long
MARKS = {"ok": "[green]✓[/green]", "fail": "[red]✗[/red]", "note": "[blue]•[/blue]"}


def doctor(
    config: Annotated[Path | None, typer.Option(help="TOML settings file")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="holds the identity key")] = None,
    http_port: Annotated[int | None, typer.Option(help="HTTP API port")] = None,
    listen: Annotated[list[str] | None, typer.Option(help="libp2p listen multiaddr")] = None,
    bootstrap: Annotated[list[str] | None, typer.Option(help="bootstrap multiaddr")] = None,
    token: Annotated[str | None, typer.Option(help="join token of a private network")] = None,
    public_addr: Annotated[str | None, typer.Option(help="public IP of this node")] = None,
    models_dir: Annotated[Path | None, typer.Option(help="folder of *.gguf to serve")] = None,
    load_models: Annotated[
        bool, typer.Option("--load-models/--no-load-models", help="start each model once")
    ] = True,
) -> None:
    """Check a node's set-up; exit 1 when a check fails (each failure says its fix)."""
    try:
        settings = NodeSettings.load(
            config,
            data_dir=data_dir,
            http_port=http_port,
            listen=listen or None,
            bootstrap=bootstrap or None,
            token=token,
            public_addr=public_addr,
            engine={"models_dir": models_dir} if models_dir else None,
        )
    except (ValidationError, ComputemeshError) as error:
        refuse_settings(error)
    findings = diagnose(settings, load_models)
    for finding in findings:
        print_finding(finding)
    failed = sum(finding.failed for finding in findings)
    if failed:
        console.print(f"[red]{failed} check(s) failed[/red]")
        raise typer.Exit(1)
    console.print("[green]all checks passed[/green]")


def print_finding(finding: Finding) -> None:
    console.print(f"{MARKS[finding.outcome]} {escape(finding.check)}: {escape(finding.detail)}")
    if finding.fix:
        label = "fix" if finding.failed else "hint"
        console.print(f"    {label}: {escape(finding.fix)}")
