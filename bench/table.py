"""Node-table benchmark: N node processes on 127.0.0.1.

Prints, for N nodes (default 20; 50 fits in 24 GB):
- the time from registering a service at one node (POST /v1/dnt/_node) until every
  node lists it (p50 and max over nodes, over several trials), against the 2 s goal;
- the time from SIGKILL of a provider until every node has it offline, against 5 s;
- resident memory per node.
Each node is polled from this process; the poll interval bounds the resolution.

    .venv/bin/python bench/table.py --nodes 50
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

from computemesh.cli.localmesh import LocalNode, wait_until

console = Console()
Check = Callable[[dict[str, Any]], bool]
VISIBLE_GOAL_S = 2.0
OFFLINE_GOAL_S = 5.0


def start_mesh(scratch: Path, count: int) -> list[LocalNode]:
    first = LocalNode(scratch / "n0", args=["--public-addr", "127.0.0.1"]).start().wait_healthy()
    nodes = [first]
    addr = first.bootstrap_addr()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"starting {count} nodes", total=count)
        progress.advance(task)
        for index in range(1, count):
            nodes.append(LocalNode(scratch / f"n{index}", args=["--bootstrap", addr]).start())
        for node in nodes:
            node.wait_healthy(timeout=120)
            progress.advance(task)
    return nodes


def wait_converged(nodes: list[LocalNode], timeout: float) -> float:
    started = time.monotonic()
    everyone = {node.peer_id for node in nodes}
    if not wait_until(lambda: all(n.online_ids() == everyone for n in nodes), timeout, 0.5):
        raise SystemExit("the mesh did not converge")
    return time.monotonic() - started


async def first_time(
    client: httpx.AsyncClient, node: LocalNode, check: Check, interval: float
) -> float:
    """Poll one node until ``check`` holds for its table; the monotonic time it first did."""
    while True:
        try:
            table = (await client.get(f"{node.url}/v1/dnt/table", timeout=10)).json()
            if check(table):
                return time.monotonic()
        except httpx.HTTPError:
            pass
        await asyncio.sleep(interval)


async def watch(nodes: list[LocalNode], check: Check, interval: float) -> list[float]:
    limits = httpx.Limits(max_connections=len(nodes) + 4)
    async with httpx.AsyncClient(limits=limits) as client:
        return list(await asyncio.gather(*(first_time(client, n, check, interval) for n in nodes)))


def registration_trial(
    nodes: list[LocalNode], at: LocalNode, name: str, interval: float
) -> list[float]:
    async def run() -> list[float]:
        watchers = asyncio.ensure_future(
            watch(nodes, lambda t: _serves(t, at.peer_id, name), interval)
        )
        await asyncio.sleep(0.5)  # watchers are polling
        started = time.monotonic()
        async with httpx.AsyncClient() as client:
            service = {
                "name": name,
                "host": "127.0.0.1",
                "port": 9,
                "identity_group": [f"model={name}"],
            }
            body = {"service": [service]}
            (await client.post(f"{at.url}/v1/dnt/_node", json=body)).raise_for_status()
        return [seen - started for seen in await watchers]

    return asyncio.run(run())


def _serves(table: dict[str, Any], peer: str, name: str) -> bool:
    entry = table.get(f"/{peer}")
    return bool(entry and any(s["name"] == name for s in entry["service"]))


def kill_trial(nodes: list[LocalNode], victim: LocalNode, interval: float) -> list[float]:
    survivors = [n for n in nodes if n is not victim]

    async def run() -> list[float]:
        watchers = asyncio.ensure_future(
            watch(survivors, lambda t: f"/{victim.peer_id}" not in t, interval)
        )
        await asyncio.sleep(0.5)
        started = time.monotonic()
        victim.kill()
        return [seen - started for seen in await watchers]

    return asyncio.run(run())


def summary(label: str, samples: list[float], goal: float) -> None:
    p50, worst = statistics.median(samples), max(samples)
    verdict = "[green]meets[/green]" if worst <= goal else "[red]misses[/red]"
    console.print(
        f"{label}: p50 {p50:.3f} s, max {worst:.3f} s over {len(samples)} observations; "
        f"max/goal = {worst / goal:.2f} ({verdict} the {goal:.0f} s goal)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.1, help="poll interval per node, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="computemesh-bench-") as scratch:
        nodes = start_mesh(Path(scratch), args.nodes)
        try:
            console.print(f"{args.nodes} nodes up; converged in {wait_converged(nodes, 180):.1f} s")
            full_mesh = args.nodes - 1
            wait_until(
                lambda: all(len(n.get("/v1/dnt/peers")["peers"]) == full_mesh for n in nodes),
                120,
                0.5,
            )
            visible: list[float] = []
            for trial in range(args.trials):
                at = nodes[(trial * 7 + 1) % len(nodes)]
                visible += registration_trial(nodes, at, f"bench-{trial}", args.poll)
            rss = [n.rss_bytes() / 2**20 for n in nodes]
            offline = kill_trial(nodes, nodes[-1], args.poll)
            poll_ms = args.poll * 1000
            console.rule(f"node table, {args.nodes} nodes on 127.0.0.1 (poll {poll_ms:.0f} ms)")
            summary("service registered -> visible at every node", visible, VISIBLE_GOAL_S)
            summary("SIGKILL of a provider -> offline at every node", offline, OFFLINE_GOAL_S)
            console.print(
                f"RSS per node: mean {statistics.mean(rss):.0f} MiB, max {max(rss):.0f} MiB, "
                f"all {args.nodes} nodes {sum(rss) / 1024:.2f} GiB"
            )
        finally:
            for node in nodes:
                node.kill()


if __name__ == "__main__":
    main()
