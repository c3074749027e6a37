"""``computemesh node why --model X [--peer P]``: the node's ``/v1/dnt/explain`` as a table."""

from datetime import datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(width=160)
COLUMNS = ("peer", "service", "verdict", "reach", "load", "latency", "why")
VERDICT_STYLES = {"candidate": "green", "cooled_down": "yellow", "unhealthy": "yellow"}


def why(
    model: Annotated[str, typer.Option(help="the model asked for")],
    peer: Annotated[str | None, typer.Option(help="only this peer id")] = None,
    node_url: Annotated[
        str, typer.Option(help="a running node's HTTP API")
    ] = "http://127.0.0.1:8092",
) -> None:
    """Why each node claiming MODEL is, or is not, a candidate for it right now."""
    params = {"model": model, **({"peer": peer} if peer else {})}
    try:
        response = httpx.get(f"{node_url.rstrip('/')}/v1/dnt/explain", params=params, timeout=10)
    except httpx.HTTPError as error:
        console.print(f"[red]cannot reach {escape(node_url)}:[/red] {escape(str(error))}")
        raise typer.Exit(1) from None
    if response.status_code != 200:
        answered = f"{escape(node_url)} answered {response.status_code}:"
        console.print(f"[red]{answered}[/red] {escape(response.text)}")
        raise typer.Exit(1)
    found = response.json()
    console.print(render_explanation(found))
    if not found["providers"]:
        console.print(
            f"no node's record claims model={escape(model)}: see `computemesh node status`"
        )


def render_explanation(found: dict[str, Any]) -> Table:
    """The ``/v1/dnt/explain`` JSON as a rich table, one row per provider."""
    about = f" (peer {found['peer']})" if found.get("peer") else ""
    title = f"model {found['model']}{about}: {found['candidates']} candidate(s)"
    table = Table(title=escape(title))
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for entry in found["providers"]:
        style = VERDICT_STYLES.get(entry["verdict"], "red")
        table.add_row(
            _short(entry["peer"]) + (" (this node)" if entry["is_self"] else ""),
            escape(entry["service"] or "-"),
            f"[{style}]{entry['verdict']}[/{style}]",
            entry["reach"] or "-",
            _load(entry["routing"]),
            _latency(entry["routing"]),
            escape(_reason(entry)),
        )
    return table


def _reason(entry: dict[str, Any]) -> str:
    when = entry.get("offline_since")
    if entry["verdict"] == "offline" and when:
        return f"{entry['detail']} (since {_clock(when)})"
    cooldown = entry.get("cooldown")
    if cooldown:
        return f"{entry['detail']} (until {_clock(cooldown['until'])})"
    return str(entry["detail"])


def _load(routing: dict[str, Any] | None) -> str:
    if not routing:
        return "-"
    return f"{max(routing['reported_load'], routing['inflight_here'])}"


def _latency(routing: dict[str, Any] | None) -> str:
    if not routing:
        return "-"
    ewma, ping = routing["latency_ewma_ms"], routing["ping_ms"]
    if ewma is not None:
        return f"{ewma:.0f} ms"
    return f"ping {ping:.0f} ms" if ping is not None else "-"


def _clock(unix: float) -> str:
    return datetime.fromtimestamp(unix).strftime("%H:%M:%S")


def _short(peer_id: str) -> str:
    return f"{peer_id[:10]}…{peer_id[-6:]}"
