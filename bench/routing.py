"""Routing quality, measured side by side in one run.

Two providers of one model behind an entry node: one fast, one 4x slower, each
serving at most ``--slots`` requests at once (so each has a real capacity). An
open-loop load at 70% of their joint capacity goes to the entry node once per
strategy; prints p50/p99 latency per strategy and p99(p2c) / p99(random), goal
<= 0.5. Then the time from SIGKILL of a provider until the entry node no longer
routes to it (goal <= 5 s), with the failed requests during that window.

    .venv/bin/python bench/routing.py
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.clients import client_limits
from tests.support.processes import UpstreamProcess, start_upstream

from computemesh.cli.localmesh import LocalNode, wait_until

console = Console()
BODY = {"model": "routed", "messages": [{"role": "user", "content": "hi"}]}
GOAL_RATIO, GOAL_EXCLUSION_S = 0.5, 5.0
STRATEGIES = ("random", "least-loaded", "p2c")


async def open_loop(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Poisson arrivals at ``rate``/s for ``seconds``; latencies and failures."""
    latencies: list[float] = []
    failures = [0]
    rng = random.Random(7)

    async def one(client: httpx.AsyncClient) -> None:
        started = time.perf_counter()
        response = await client.post(url, json=BODY)
        if response.status_code == 200:
            latencies.append(time.perf_counter() - started)
        else:
            failures[0] += 1

    limits = client_limits(512)
    async with (
        httpx.AsyncClient(timeout=120, limits=limits) as client,
        trio.open_nursery() as nursery,
    ):
        end = trio.current_time() + seconds
        while trio.current_time() < end:
            nursery.start_soon(one, client)
            await trio.sleep(rng.expovariate(rate))
    return latencies, failures[0]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def start_entries(
    scratch: str, upstreams: list[UpstreamProcess], nodes: list[LocalNode]
) -> tuple[dict[str, LocalNode], list[LocalNode]]:
    """One entry node per strategy, all in one mesh with the two providers."""
    first = LocalNode(Path(scratch, "first"), args=["--public-addr", "127.0.0.1"])
    nodes.append(first.start())
    first.wait_healthy()
    providers = []
    for index, upstream in enumerate(upstreams):
        provider = LocalNode(Path(scratch, f"p{index}"), args=[
            "--bootstrap", first.bootstrap_addr(), "--service", f"llm={upstream.url}",
            "--identity-group", "llm:model=routed"])  # fmt: skip
        nodes.append(provider.start())
        providers.append(provider)
    entries = {}
    for strategy in STRATEGIES:
        entry = LocalNode(Path(scratch, strategy), args=["--bootstrap", first.bootstrap_addr()],
                          env={"COMPUTEMESH_ROUTING_STRATEGY": strategy})  # fmt: skip
        nodes.append(entry.start())
        entries[strategy] = entry
    for node in nodes:
        node.wait_healthy()
    for entry in entries.values():
        if not wait_until(lambda e=entry: _providers_seen(e) == 2, 60):
            raise SystemExit("the providers did not reach every entry node")
    return entries, providers


def _providers_seen(node: LocalNode) -> int:
    return sum(1 for peer in node.table().values() if peer["service"])


def compare(
    entries: dict[str, LocalNode], rate: float, seconds: float
) -> dict[str, tuple[float, float, int, int]]:
    results = {}
    for strategy, entry in entries.items():
        url = f"{entry.url}/v1/service/llm/v1/chat/completions"
        with console.status(f"{strategy}: {rate:.0f} req/s for {seconds:.0f} s ..."):
            latencies, failures = trio.run(open_loop, url, rate, seconds)
        results[strategy] = (
            statistics.median(latencies),
            pct(latencies, 0.99),
            len(latencies),
            failures,
        )
        time.sleep(2)  # let queues drain before the next strategy
    return results


def exclusion(entry: LocalNode, victim: LocalNode, rate: float) -> tuple[float, int]:
    """SIGKILL ``victim`` under load; seconds until ``entry`` stops listing it online."""
    url = f"{entry.url}/v1/service/llm/v1/chat/completions"

    async def run() -> tuple[float, int]:
        async with trio.open_nursery() as nursery:
            load: list[tuple[list[float], int]] = []

            async def keep_load() -> None:
                load.append(await open_loop(url, rate, 8))

            nursery.start_soon(keep_load)
            await trio.sleep(2)
            killed = time.monotonic()
            victim.kill()
            while victim.peer_id in await trio.to_thread.run_sync(entry.online_ids):  # noqa: ASYNC110
                await trio.sleep(0.05)  # polling another process: no event to wait on
            excluded = time.monotonic() - killed
        return excluded, load[0][1]

    return trio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.04, help="fast provider, seconds")
    parser.add_argument(
        "--slots", type=int, default=4, help="requests each provider serves at once"
    )
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    fast = start_upstream("--latency", str(args.latency), "--capacity", str(args.slots))
    slow = start_upstream("--latency", str(4 * args.latency), "--capacity", str(args.slots))
    capacity = args.slots / args.latency + args.slots / (4 * args.latency)
    rate = 0.7 * capacity
    nodes: list[LocalNode] = []
    try:
        with tempfile.TemporaryDirectory(prefix="computemesh-routing-") as scratch:
            entries, providers = start_entries(scratch, [fast, slow], nodes)
            results = compare(entries, rate, args.seconds)
            excluded, failed = exclusion(entries["p2c"], providers[1], rate / 4)
    finally:
        for node in nodes:
            node.kill()
        fast.kill()
        slow.kill()
    report(results, capacity, rate, excluded, failed)


def report(
    results: dict[str, tuple[float, float, int, int]],
    capacity: float,
    rate: float,
    excluded: float,
    failed: int,
) -> None:
    table = Table(
        title=f"routing at {rate:.0f} req/s = 70% of {capacity:.0f} req/s capacity"
        " (one provider 4x slower)"
    )
    for column in ("strategy", "p50 ms", "p99 ms", "ok", "failed"):
        table.add_column(column, justify="right")
    for strategy, (p50, p99, ok, failures) in results.items():
        table.add_row(strategy, f"{p50 * 1000:.0f}", f"{p99 * 1000:.0f}", str(ok), str(failures))
    console.print(table)
    ratio = results["p2c"][1] / results["random"][1]
    mark = "[green]met[/green]" if ratio <= GOAL_RATIO else "[red]MISSED[/red]"
    console.print(f"p99 p2c / random = {ratio:.2f} (goal ≤ {GOAL_RATIO}) {mark}")
    mark = "[green]met[/green]" if excluded <= GOAL_EXCLUSION_S else "[red]MISSED[/red]"
    console.print(
        f"SIGKILL → excluded from routing in {excluded:.2f} s (goal ≤ {GOAL_EXCLUSION_S} s)"
        f" {mark}; {failed} requests failed meanwhile"
    )


if __name__ == "__main__":
    main()
