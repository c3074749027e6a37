"""Node-table benchmark: N node processes on 127.0.0.1.

Prints, for N nodes (default 20; 50 fits in 24 GB):
- the time from registering a service at one node (POST /v1/dnt/_node) until every
  node lists it (p50 and max over nodes, over several trials), against the 2 s goal;
- the time from SIGKILL of a provider until every node has it offline, against 5 s;
- resident memory per node.
Times come from the nodes' own stamps (``received_at`` in the table,
``disconnected_at`` in peers_status); all nodes share this machine's clock.

    .venv/bin/python bench/table.py --nodes 50
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.progress import Progress

from computemesh.cli.localmesh import LocalNode, wait_until

console = Console()
VISIBLE_GOAL_S = 2.0
OFFLINE_GOAL_S = 5.0
POLL_S = 0.2


def start_mesh(scratch: Path, count: int, nodes: list[LocalNode]) -> None:
    """Start ``count`` nodes into ``nodes`` (so the caller can always reap them)."""
    first = LocalNode(scratch / "n0", args=["--public-addr", "127.0.0.1"]).start()
    nodes.append(first)
    first.wait_healthy()
    addr = first.bootstrap_addr()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"starting {count} nodes", total=count)
        progress.advance(task)
        for index in range(1, count):
            nodes.append(LocalNode(scratch / f"n{index}", args=["--bootstrap", addr]).start())
        for node in nodes:
            node.wait_healthy(timeout=300)
            progress.advance(task)


def wait_converged(nodes: list[LocalNode], timeout: float) -> float:
    started = time.monotonic()
    everyone = {node.peer_id for node in nodes}
    if not wait_until(lambda: all(n.online_ids() == everyone for n in nodes), timeout, 0.5):
        raise SystemExit("the mesh did not converge")
    return time.monotonic() - started


def settle(nodes: list[LocalNode], timeout: float) -> float:
    """Wait until the start-up storm (every node dialing every other) has passed: the
    nodes' CPU over a 5 s window has stopped falling (an idle mesh of many nodes on few
    cores never gets far below a core, so no fixed threshold would do)."""
    processes = [psutil.Process(n.process.pid) for n in nodes if n.process]
    started = time.monotonic()
    previous = float("inf")
    while time.monotonic() - started < timeout:
        for process in processes:
            process.cpu_percent()
        time.sleep(5)
        used = sum(p.cpu_percent() for p in processes)
        if used < 100 or used > 0.9 * previous:
            break
        previous = used
    return time.monotonic() - started


def idle_cpu(nodes: list[LocalNode], seconds: float = 10.0) -> float:
    """Cores the idle mesh uses (every node together) over ``seconds``."""
    processes = [psutil.Process(n.process.pid) for n in nodes if n.process]
    for process in processes:
        process.cpu_percent()
    time.sleep(seconds)
    return sum(p.cpu_percent() for p in processes) / 100


def pubsub_formed(nodes: list[LocalNode], timeout: float) -> float:
    """Wait until every node holds a pubsub stream to every other: the one-hop flood
    of a node's own record goes down each of them. Subscriptions, which only steer
    gossipsub's relaying mesh, are reported: py-libp2p loses a few for good."""
    started = time.monotonic()
    full_mesh = len(nodes) - 1

    def formed() -> bool:
        stats = [node.get("/v1/dnt/stats") for node in nodes]
        return all(s["pubsub_peers"] == full_mesh for s in stats)

    done = wait_until(formed, timeout, 2.0)
    stats = [node.get("/v1/dnt/stats") for node in nodes]
    mark = "" if done else "[red]not every stream formed[/red]: "
    console.print(
        f"{mark}pubsub streams min {min(s['pubsub_peers'] for s in stats)}, "
        f"known subscriptions min {min(s['table_subscribers'] for s in stats)} of {full_mesh}"
    )
    return time.monotonic() - started


def poll_all(nodes: list[LocalNode], done: Callable[[LocalNode], bool], timeout: float) -> None:
    """Ask each node in turn, slowly, until ``done`` holds for every one.

    Polling is only for knowing when to stop: the times come from each node's own
    clock stamps, so polling gently keeps the bench from loading the machine it measures.
    """
    pending = list(nodes)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = [node for node in pending if not done(node)]
        time.sleep(POLL_S)
    if pending:
        raise SystemExit(f"{len(pending)} nodes never got there")


def registration_trial(nodes: list[LocalNode], at: LocalNode, name: str) -> list[float]:
    """Seconds from POST /v1/dnt/_node at ``at`` to each node accepting the new record.

    The service points at another node's HTTP port (a node refuses services on its own
    ports), which answers, so the health probe (every 5 s) does not re-sign the record
    as unhealthy in the middle of the trial:
    a node's ``received_at`` is when its newest version arrived, and a version signed
    mid-trial would stamp the nodes polled after it with its own later arrival.
    """
    key = f"/{at.peer_id}"
    answering = next(node for node in nodes if node is not at)
    service = {"name": name, "host": "127.0.0.1", "port": answering.http_port,
               "identity_group": [f"model={name}"]}  # fmt: skip
    started = time.time()
    httpx.post(f"{at.url}/v1/dnt/_node", json={"service": [service]}, timeout=10).raise_for_status()
    answered = time.time() - started
    version = at.table()[key]["seq"]
    received: dict[int, tuple[float, int]] = {}

    def sees_it(node: LocalNode) -> bool:
        entry = node.table(all=True).get(key)
        if entry and any(s["name"] == name for s in entry["service"]):
            received[node.http_port] = (entry["received_at"], entry["seq"])
            return True
        return False

    poll_all([n for n in nodes if n is not at], sees_it, 120)
    delays = sorted(stamp - started for stamp, _ in received.values())
    # A later version (a refresh signed meanwhile) stamps its own, later arrival: such a
    # sample can only overstate the delay, so it is kept and counted.
    later = sum(seq != version for _, seq in received.values())
    console.print(
        f"  {name}: the POST answered in {answered * 1000:.0f} ms; first node "
        f"{delays[0]:.3f} s, median {statistics.median(delays):.3f} s, last {delays[-1]:.3f} s"
        + (f" ({later} nodes stamped a later version)" if later else "")
    )
    return delays


def kill_trial(nodes: list[LocalNode], victim: LocalNode) -> list[float]:
    """Seconds from SIGKILL to each survivor counting the victim offline."""
    survivors = [n for n in nodes if n is not victim]
    started = time.time()
    victim.kill()
    offline_at: dict[int, float] = {}

    def sees_it_offline(node: LocalNode) -> bool:
        if victim.peer_id in node.online_ids():
            return False
        status = {p["id"]: p for p in node.get("/v1/dnt/peers_status")["peers"]}.get(victim.peer_id)
        dropped = status["disconnected_at"] if status else 0.0
        # a direct connection's drop is stamped by the node; otherwise the record expired
        offline_at[node.http_port] = dropped if dropped >= started else time.time()
        return True

    poll_all(survivors, sees_it_offline, 120)
    return [stamp - started for stamp in offline_at.values()]


def summary(label: str, samples: list[float], goal: float) -> None:
    p50, worst = statistics.median(samples), max(samples)
    over = sum(sample > goal for sample in samples)
    verdict = "[green]meets[/green]" if worst <= goal else "[red]misses[/red]"
    console.print(
        f"{label}: p50 {p50:.3f} s, max {worst:.3f} s, {over} of {len(samples)} over the goal; "
        f"max/goal = {worst / goal:.2f} ({verdict} the {goal:.0f} s goal)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="computemesh-bench-") as scratch:
        nodes: list[LocalNode] = []
        try:
            start_mesh(Path(scratch), args.nodes, nodes)
            console.print(f"{args.nodes} nodes up; converged in {wait_converged(nodes, 180):.1f} s")
            full_mesh = args.nodes - 1
            wait_until(
                lambda: all(len(n.get("/v1/dnt/peers")["peers"]) == full_mesh for n in nodes),
                120,
                0.5,
            )
            formed = pubsub_formed(nodes, 300)
            console.print(f"pubsub streams to every peer after {formed:.0f} s more")
            console.print(f"start-up load settled after {settle(nodes, 300):.0f} s more")
            console.print(f"the idle mesh uses {idle_cpu(nodes):.2f} cores")
            visible: list[float] = []
            for trial in range(args.trials):
                at = nodes[(trial * 7 + 1) % len(nodes)]
                visible += registration_trial(nodes, at, f"bench-{trial}")
            rss = [n.rss_bytes() / 2**20 for n in nodes]
            offline = kill_trial(nodes, nodes[-1])
            console.rule(f"node table, {args.nodes} node processes on 127.0.0.1")
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
