"""The relay's CPU for two versions of the code, interleaved in one run.

Each version gets its own pair of nodes (entry E, provider P) in front of one shared
test upstream; rounds alternate between the pairs so machine noise hits both alike.
Prints, per version, the CPU each node spent per forwarded request (concurrency 32
through E's ``/v1/service``) and per relayed SSE chunk (streams of 50 events, 4 at
a time), and the ratios new / base. Absolute times move with the VM (see the
reference loop it prints); the ratios are what one run can show.

    .venv/bin/python bench/relay_ab.py --base <git revision>
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import trio
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.clients import client_limits
from bench.machine import python_speed_line
from bench.pair import start_pair, upstream_and_nodes

from computemesh.cli.localmesh import LocalNode

ROOT = Path(__file__).resolve().parents[1]
console = Console()
BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}]}
CHUNKS = 50


@dataclass
class Pair:
    """One version's entry and provider nodes, and what they cost per unit of work."""

    name: str
    url: str
    entry: psutil.Process
    provider: psutil.Process
    client: httpx.AsyncClient | None = None
    cost: dict[str, list[float]] = field(default_factory=dict)

    def cpu(self) -> tuple[float, float]:
        return _cpu(self.entry), _cpu(self.provider)

    def record(self, kind: str, before: tuple[float, float], units: int) -> None:
        spent = [a - b for a, b in zip(self.cpu(), before, strict=True)]
        for node, seconds in zip(("entry", "provider"), spent, strict=True):
            self.cost.setdefault(f"{node} {kind}", []).append(seconds / units * 1e6)


def _process(node: LocalNode) -> psutil.Process:
    assert node.process is not None
    return psutil.Process(node.process.pid)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """The project's source at ``revision``, checked out beside this one."""
    with tempfile.TemporaryDirectory(prefix="computemesh-ab-") as scratch:
        path = Path(scratch, "tree")
        run = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*run, "add", "--detach", "-q", str(path), revision], check=True)
        try:
            yield path / "src"
        finally:
            subprocess.run([*run, "remove", "--force", str(path)], check=True)


async def in_parallel(count: int, concurrency: int, job: Callable[[], Awaitable[None]]) -> None:
    remaining = [count]

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await job()

    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)


async def requests(pair: Pair, count: int) -> None:
    assert pair.client is not None
    client, url = pair.client, pair.url

    async def one() -> None:
        response = await client.post(url, json=BODY)
        assert response.status_code == 200, response.text

    await in_parallel(count, 32, one)


async def streams(pair: Pair, count: int) -> None:
    assert pair.client is not None
    client, url = pair.client, pair.url
    body = {**BODY, "stream": True, "max_tokens": CHUNKS}

    async def one() -> None:
        async with client.stream("POST", url, json=body) as response:
            async for _ in response.aiter_raw():
                pass

    await in_parallel(count, 4, one)


async def measure(pairs: list[Pair], args: argparse.Namespace) -> None:
    for pair in pairs:
        pair.client = httpx.AsyncClient(timeout=60, limits=client_limits(64))
        await requests(pair, 200)  # warm connections and streams
    for _ in range(args.rounds):
        for pair in pairs:
            before = pair.cpu()
            await requests(pair, args.requests)
            pair.record("µs / request", before, args.requests)
            before = pair.cpu()
            await streams(pair, args.streams)
            pair.record("µs / chunk", before, args.streams * CHUNKS)
    for pair in pairs:
        assert pair.client is not None
        await pair.client.aclose()


def report(base: Pair, new: Pair) -> None:
    table = Table(title=f"relay CPU, medians of interleaved rounds ({base.name} → {new.name})")
    for column in ("node, per", base.name, new.name, "new / base"):
        table.add_column(column, justify="right")
    for key, values in base.cost.items():
        before, after = statistics.median(values), statistics.median(new.cost[key])
        table.add_row(key, f"{before:.0f}", f"{after:.0f}", f"{after / before:.2f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=600, help="per round, concurrency 32")
    parser.add_argument("--streams", type=int, default=60, help="per round, 4 at a time")
    args = parser.parse_args()
    with (  # nodes stop first, then their code and scratch folders go
        tempfile.TemporaryDirectory() as scratch,
        worktree(args.base) as base_src,
        upstream_and_nodes() as (upstream, nodes),
    ):
        pairs = []
        versions = ((args.base, base_src), ("working tree", ROOT / "src"))
        for index, (name, src) in enumerate(versions):
            env = {"PYTHONPATH": str(src)}
            entry, provider = start_pair(Path(scratch, str(index)), upstream.url, nodes, env)
            url = f"{entry.url}/v1/service/llm/v1/chat/completions"
            pairs.append(Pair(name, url, _process(entry), _process(provider)))
        with console.status("measuring (rounds alternate the versions) ..."):
            trio.run(measure, pairs, args)
        report(*pairs)
        console.print(python_speed_line())


if __name__ == "__main__":
    main()
