"""``computemesh demo``: three nodes on loopback, a real model answering across the mesh.

One node serves the packaged SmolLM2-135M-Instruct, one the packaged all-MiniLM-L6-v2
embeddings, one no model at all. A chat completion and an embeddings call go to the node
without a model; the mesh routes each to the peer that has it. Everything stops cleanly.
"""

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from computemesh.cli import demo_client
from computemesh.cli.localmesh import LocalNode, wait_until
from computemesh.cli.node import render_table

console = Console(width=120)
CHAT_MODEL = "SmolLM2-135M-Instruct"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
LOAD_TIMEOUT_S = 180.0  # the first run converts MiniLM to GGUF (a few seconds)
CONVERGE_TIMEOUT_S = 60.0
QUESTION = "What is the capital of France?"
CHAT_NODE_ARGS = ["--public-addr", "127.0.0.1", "--default-model", "--threads", "2"]


@contextmanager
def three_nodes(scratch: Path) -> Iterator[tuple[LocalNode, LocalNode, LocalNode]]:
    """SmolLM2, embeddings, and an entry with no model; stopped (SIGINT) on exit."""
    running: list[LocalNode] = []
    try:
        with console.status("loading SmolLM2 on node 1 ..."):
            chat = LocalNode(scratch / "smollm2", args=CHAT_NODE_ARGS)
            running.append(chat.start())
            chat.wait_healthy(LOAD_TIMEOUT_S)
        bootstrap = ["--bootstrap", chat.bootstrap_addr()]
        with console.status("loading all-MiniLM-L6-v2 on node 2, starting node 3 ..."):
            embed = LocalNode(scratch / "embeddings", args=[*bootstrap, "--embeddings"])
            entry = LocalNode(scratch / "entry", args=bootstrap)
            running += [embed.start(), entry.start()]
            embed.wait_healthy(LOAD_TIMEOUT_S)
            entry.wait_healthy(LOAD_TIMEOUT_S)
        yield chat, embed, entry
    finally:
        with console.status("stopping every node ..."):
            for node in running:
                node.stop()


def _converge(entry: LocalNode) -> None:
    with console.status("waiting until node 3 sees both models ..."):
        started = time.monotonic()
        wanted = {CHAT_MODEL, EMBEDDING_MODEL}
        if not wait_until(lambda: wanted <= demo_client.models(entry.url), CONVERGE_TIMEOUT_S):
            console.print(f"[red]the mesh did not converge:[/red] {entry.table()}")
            raise typer.Exit(1)
    console.print(f"[green]converged[/green] in {time.monotonic() - started:.2f} s")


def _names(*nodes: LocalNode) -> dict[str, str]:
    labels = ("node 1 (SmolLM2)", "node 2 (embeddings)", "node 3 (no model)")
    return {node.peer_id: label for node, label in zip(nodes, labels, strict=True)}


def demo() -> None:
    """Three nodes on 127.0.0.1; ask the one without a model; show who answered; stop."""
    with (
        tempfile.TemporaryDirectory(prefix="computemesh-demo-") as scratch,
        three_nodes(Path(scratch)) as (chat, embed, entry),
    ):
        _converge(entry)
        console.print(render_table(entry.table(), title="the node table as node 3 sees it"))
        names = _names(chat, embed, entry)
        _ask(entry, names)
        _embed(entry, names)
    console.print("\n[green]all nodes stopped cleanly[/green]")


def _ask(entry: LocalNode, names: dict[str, str]) -> None:
    console.print(f"\n[bold]POST {entry.url}/v1/chat/completions[/bold]  {QUESTION!r}")
    answer = demo_client.chat(entry.url, CHAT_MODEL, QUESTION)
    console.print(f"  answer: [bold cyan]{answer.text.strip()}[/bold cyan]")
    console.print(f"  X-Computing-Node: {answer.node} = {names.get(answer.node, '?')}")
    console.print(
        f"  {answer.tokens} tokens in {answer.seconds:.2f} s: "
        f"[bold]{answer.tokens_per_s:.1f} tokens/s[/bold], "
        f"first token after {answer.first_token_s * 1000:.0f} ms"
    )


def _embed(entry: LocalNode, names: dict[str, str]) -> None:
    console.print(f"\n[bold]POST {entry.url}/v1/embeddings[/bold]")
    embedded = demo_client.embed(entry.url, EMBEDDING_MODEL)
    console.print(f"  {embedded.summary}")
    console.print(f"  X-Computing-Node: {embedded.node} = {names.get(embedded.node, '?')}")
