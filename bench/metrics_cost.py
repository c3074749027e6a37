"""What ``/metrics`` counting costs a forwarding entry node, in its own CPU per request.

Two entry nodes alike but for ``--metrics``/``--no-metrics`` forward to the same
provider (one hop, ``/v1/service``). Rounds alternate which goes first, each a burst
at concurrency 32; CPU is read from each entry process's own counters (user +
system, ``psutil``), never from wall time. The cost is the ratio of CPU per request,
on over off, from the totals of all rounds (and the median of the per-round ratios).

On a busy machine two processes alike differ by a few percent on their own; a third
entry with metrics off (``control``) shows that noise floor in the same run.
"""

import statistics
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import trio
from bench.clients import client_limits

from computemesh.cli.localmesh import LocalNode, wait_until

GOAL_COST = 0.03
TAIL = "/v1/chat/completions"


@dataclass
class Entry:
    name: str
    node: LocalNode
    cpu_s: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.node.url}/v1/service/llm{TAIL}"

    def cpu_seconds(self) -> float:
        assert self.node.process is not None
        times = psutil.Process(self.node.process.pid).cpu_times()
        return float(times.user + times.system)

    def cpu_ms_per_request(self) -> float:
        return sum(self.cpu_s) / sum(self.requests) * 1000


def start_entries(
    scratch: Path, bootstrap: str, started: list[LocalNode], control: bool = True
) -> list[Entry]:
    """Entry nodes with metrics on and off (and a second off: the control), once each
    sees a provider of ``llm``."""
    entries = []
    kinds = [("on", "--metrics"), ("off", "--no-metrics")]
    for name, flag in kinds + ([("control", "--no-metrics")] if control else []):
        node = LocalNode(scratch / f"metrics-{name}", args=["--bootstrap", bootstrap, flag])
        started.append(node.start())
        node.wait_healthy()
        entries.append(Entry(name, node))
    for entry in entries:
        if not wait_until(lambda e=entry: _sees_provider(e.node), 30):
            raise SystemExit(f"the provider did not reach entry {entry.name}'s table")
    return entries


def _sees_provider(node: LocalNode) -> bool:
    return any(peer["service"] for peer in node.table().values())


async def measure(
    entries: list[Entry], body: dict[str, object], rounds: int, burst: int, together: bool
) -> None:
    """``rounds`` bursts per entry: one after another in turn, or all entries at once
    (``together``: the same moment's machine load for each, request by request)."""
    from bench.forward import throughput  # one burst, as the forwarding bench sends it

    async def burst_at(entry: Entry, client: httpx.AsyncClient) -> None:
        before = entry.cpu_seconds()
        await throughput(client, entry.url, burst, 32)
        entry.cpu_s.append(entry.cpu_seconds() - before)
        entry.requests.append(burst)

    async with AsyncExitStack() as stack:
        clients = {
            e.name: await stack.enter_async_context(
                httpx.AsyncClient(timeout=60, limits=client_limits(64))
            )
            for e in entries
        }
        for entry in entries:  # warm connections, streams and label children
            await throughput(clients[entry.name], entry.url, 200, 32)
        for round_number in range(rounds):
            # Each entry in each position in turn, so no one always follows another.
            shift = round_number % len(entries)
            order = entries[shift:] + entries[:shift]
            if round_number // len(entries) % 2:
                order.reverse()
            if together:
                async with trio.open_nursery() as nursery:
                    for entry in order:
                        nursery.start_soon(burst_at, entry, clients[entry.name])
            else:
                for entry in order:
                    await burst_at(entry, clients[entry.name])


def report(entries: list[Entry]) -> tuple[float, bool]:
    """Print the cost of metrics (CPU per request, on over off); return it and the verdict."""
    on, off, *control = entries
    cost = on.cpu_ms_per_request() / off.cpu_ms_per_request() - 1
    ok = cost <= GOAL_COST
    per_request = ", ".join(f"{e.name} {e.cpu_ms_per_request():.3f} ms" for e in entries)
    print(f"entry CPU per forwarded request over {len(on.cpu_s)} interleaved rounds: {per_request}")
    print(
        f"metrics cost {cost * 100:+.1f}% of a forwarded request's CPU at the entry"
        f" (ratio on/off {1 + cost:.3f}; {_spread(on, off)}; goal ≤ {GOAL_COST * 100:.0f}%)",
        "met" if ok else "MISSED",
    )
    for other in control:
        noise = other.cpu_ms_per_request() / off.cpu_ms_per_request() - 1
        print(f"control, both off: {noise * 100:+.1f}% ({_spread(other, off)}): the noise floor")
    return cost, ok


def _spread(a: Entry, b: Entry) -> str:
    rounds = [x / y - 1 for x, y in zip(a.cpu_s, b.cpu_s, strict=True)]
    median, low, high = statistics.median(rounds), min(rounds), max(rounds)
    return f"per round median {median * 100:+.1f}%, {low * 100:+.1f}% to {high * 100:+.1f}%"
