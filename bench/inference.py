"""Inference through the mesh vs the engine called directly, measured side by side in one run.

Two node processes on 127.0.0.1: P serves the packaged SmolLM2-135M-Instruct (llama.cpp,
``--parallel 8``), E serves nothing. Paths, all streaming ``/v1/completions`` with a fixed
number of tokens (``ignore_eos``):

  direct  client → P's llama.cpp server (its URL from P's record)
  local   client → P /v1/completions → its engine
  hop     client → E /v1/completions → libp2p → P /v1/_service/llm → engine (one hop)

Prints tokens/s and time to first token per path (medians of rounds that alternate the
paths, so machine noise hits each alike) and the ratios to direct; then aggregate tokens/s
through one hop at 1, 4 and 8 concurrent requests.
Goals: one hop ≥ 95% of direct tokens/s; 8 concurrent ≥ 2x one stream's aggregate.

    .venv/bin/python bench/inference.py [--tokens 96] [--rounds 5]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import trio
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.clients import client_limits
from bench.machine import python_speed_line

from computemesh.cli.localmesh import LocalNode, wait_until

console = Console()
MODEL = "SmolLM2-135M-Instruct"
PROMPT = "Once upon a time, in a small village by the sea,"
GOAL_HOP_RATIO, GOAL_CONCURRENCY_GAIN = 0.95, 2.0
CONCURRENCY = (1, 4, 8)


@dataclass(frozen=True)
class Run:
    tokens: int
    first_token_s: float
    total_s: float

    @property
    def tokens_per_s(self) -> float:
        """Generation speed once tokens flow: what a reader of the stream sees."""
        return (self.tokens - 1) / max(self.total_s - self.first_token_s, 1e-9)


def body(tokens: int) -> dict[str, object]:
    return {
        "model": MODEL, "prompt": PROMPT, "max_tokens": tokens, "temperature": 0,
        "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True},
    }  # fmt: skip


async def stream_once(client: httpx.AsyncClient, url: str, tokens: int) -> Run:
    started = time.perf_counter()
    first: float | None = None
    counted = 0
    async with client.stream("POST", url, json=body(tokens)) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            if first is None and any(c.get("text") for c in event.get("choices", [])):
                first = time.perf_counter() - started
            counted = (event.get("usage") or {}).get("completion_tokens", counted)
    total = time.perf_counter() - started
    assert counted == tokens, f"{url} generated {counted} tokens, not {tokens}"
    return Run(counted, first if first is not None else total, total)


async def concurrent(client: httpx.AsyncClient, url: str, tokens: int, streams: int) -> float:
    """Aggregate tokens/s of ``streams`` requests started together."""
    runs: list[Run] = []

    async def one() -> None:
        runs.append(await stream_once(client, url, tokens))

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(streams):
            nursery.start_soon(one)
    return sum(run.tokens for run in runs) / (time.perf_counter() - started)


def engine_url(provider: LocalNode) -> str:
    """P's llama.cpp server, read from the service it claims in its record."""
    own = provider.table()[f"/{provider.peer_id}"]
    service = next(s for s in own["service"] if s["name"] == "llm")
    return f"http://{service['host']}:{service['port']}/v1/completions"


async def measure(urls: dict[str, str], tokens: int, rounds: int) -> dict[str, list[Run]]:
    found: dict[str, list[Run]] = {name: [] for name in urls}
    async with httpx.AsyncClient(timeout=300, limits=client_limits(8)) as client:
        for url in urls.values():  # warm-up: connections, prompt cache
            await stream_once(client, url, 8)
        for _ in range(rounds):
            for name, url in urls.items():
                found[name].append(await stream_once(client, url, tokens))
    return found


async def scaling(urls: dict[str, str], tokens: int, rounds: int) -> dict[str, dict[int, float]]:
    """Median aggregate tokens/s per path and concurrency, the paths taking turns.

    The engine called directly is measured too: it is what the hardware allows, so the
    hop's gain reads against it on this machine.
    """
    limits = client_limits(64)
    found: dict[str, dict[int, list[float]]] = {name: {} for name in urls}
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        for url in urls.values():
            await concurrent(client, url, 8, max(CONCURRENCY))  # warm every slot
        for _ in range(rounds):
            for streams in CONCURRENCY:
                for name, url in urls.items():
                    rate = await concurrent(client, url, tokens, streams)
                    found[name].setdefault(streams, []).append(rate)
    return {
        name: {n: statistics.median(rates) for n, rates in by_n.items()}
        for name, by_n in found.items()
    }


def report(found: dict[str, list[Run]], rates: dict[str, dict[int, float]]) -> None:
    speed = {name: statistics.median(r.tokens_per_s for r in runs) for name, runs in found.items()}
    ttft = {name: statistics.median(r.first_token_s for r in runs) for name, runs in found.items()}
    table = Table(title=f"SmolLM2 streaming, medians of {len(found['direct'])} rounds")
    for column in ("path", "tokens/s", "vs direct", "first token ms", "added ms"):
        table.add_column(column, justify="right")
    for name in found:
        table.add_row(
            name, f"{speed[name]:.1f}", f"{speed[name] / speed['direct']:.1%}",
            f"{ttft[name] * 1000:.1f}", f"{(ttft[name] - ttft['direct']) * 1000:+.1f}",
        )  # fmt: skip
    console.print(table)
    hop = speed["hop"] / speed["direct"]
    mark = "[green]met[/green]" if hop >= GOAL_HOP_RATIO else "[red]missed[/red]"
    console.print(f"one hop / direct tokens/s = {hop:.1%} (goal ≥ {GOAL_HOP_RATIO:.0%}): {mark}")
    scaling_table = Table(title="aggregate tokens/s by concurrent streams (medians)")
    for column in ("path", *(str(n) for n in CONCURRENCY), "8 / 1"):
        scaling_table.add_column(column, justify="right")
    for name, by_n in rates.items():
        gain = by_n[max(CONCURRENCY)] / by_n[1]
        scaling_table.add_row(name, *(f"{by_n[n]:.1f}" for n in CONCURRENCY), f"{gain:.2f}x")
    console.print(scaling_table)
    gain = rates["hop"][max(CONCURRENCY)] / rates["hop"][1]
    mark = "[green]met[/green]" if gain >= GOAL_CONCURRENCY_GAIN else "[red]missed[/red]"
    goal = f"goal ≥ {GOAL_CONCURRENCY_GAIN:.0f}x"
    console.print(f"hop, 8 concurrent / 1 = {gain:.2f}x ({goal}): {mark}")
    engine = rates["direct"][max(CONCURRENCY)] / rates["direct"][1]
    console.print(f"the engine alone on this machine: {engine:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scaling-rounds", type=int, default=3)
    args = parser.parse_args()
    engine = ["--default-model", "--threads", str(args.threads), "--parallel", "8"]
    with tempfile.TemporaryDirectory(prefix="computemesh-bench-") as scratch:
        provider = LocalNode(Path(scratch, "p"), args=["--public-addr", "127.0.0.1", *engine])
        entry = LocalNode(Path(scratch, "e"))
        try:
            provider.start().wait_healthy(120)
            entry.args = ["--bootstrap", provider.bootstrap_addr()]
            entry.start().wait_healthy(60)
            assert wait_until(lambda: len(entry.table()) == 2, 30), "the mesh did not converge"
            urls = {
                "direct": engine_url(provider),
                "local": f"{provider.url}/v1/completions",
                "hop": f"{entry.url}/v1/completions",
            }
            found = trio.run(measure, urls, args.tokens, args.rounds)
            paths = {"direct": urls["direct"], "hop": urls["hop"]}
            rates = trio.run(scaling, paths, args.tokens, args.scaling_rounds)
        finally:
            for node in (entry, provider):
                node.stop()
    report(found, rates)
    console.print(python_speed_line())


if __name__ == "__main__":
    main()
