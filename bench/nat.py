"""Crossing NATs, measured in one run in the NAT topology of the tests (needs root,
``ip`` and ``iptables``; everything stays in namespaces it makes and removes).

Nodes: relays R1 and R2 and a provider Q on the public network; a provider P behind
NAT 1; the client node C behind NAT 2, told only the relays' addresses. Upstreams
pace their streamed chunks as an engine does (``--chunk-delay``, 15 ms).

Paths, each against the same provider's own local answer (what forwarding adds):
  direct     C → Q over a direct connection (one hop)
  relayed    C → R → P (no hole can be punched yet: the routers drop it)
  punched    C → P after DCUtR made the connection direct

Prints p50/p99 added latency of a non-streamed request and chunks/s of a streamed
answer relative to the provider's local one; and how long P took to be usable after
it started, and again after the relay it used was killed. Goals (issue 20): relayed
adds at most 5 ms p50 over direct and keeps at least 95% of direct's chunks/s; P is
usable at most 10 s after it starts and again at most 10 s after its relay dies.

    sudo .venv/bin/python bench/nat.py [--requests 200] [--streams 3]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.netns import PUBLIC_IP, NatTopology, nat_topology
from tests.support.netns_nodes import NsNode, start_upstream

HOME_MODEL, PUBLIC_MODEL = "m-home", "m-public"
UPSTREAM_PORT = 9000
CHUNK_DELAY = "0.015"
STREAM_CHUNKS = 200


def chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def wait_for(condition: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``condition`` held, None if it did not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if condition():
                return time.monotonic() - started
        except Exception:
            pass
        time.sleep(0.05)
    return None


def answers(node: NsNode, model: str) -> bool:
    with node.client(5) as http:
        return http.post("/v1/chat/completions", json=chat(model)).status_code == 200


def latencies_ms(node: NsNode, model: str, count: int) -> list[float]:
    found = []
    with node.client(30) as http:
        for _ in range(count):
            started = time.perf_counter()
            http.post("/v1/chat/completions", json=chat(model)).raise_for_status()
            found.append((time.perf_counter() - started) * 1000)
    return found


def chunks_per_s(node: NsNode, model: str, streams: int) -> float:
    """Median over ``streams`` answers of chunks a second, first chunk to last."""
    rates = []
    with node.client(120) as http:
        for _ in range(streams):
            body = chat(model, stream=True, max_tokens=STREAM_CHUNKS)
            arrived = []
            with http.stream("POST", "/v1/chat/completions", json=body) as answer:
                for line in answer.iter_lines():
                    if line.startswith("data: {"):
                        arrived.append(time.perf_counter())
            rates.append((len(arrived) - 1) / (arrived[-1] - arrived[0]))
    return statistics.median(rates)


def connection(node: NsNode, peer: NsNode) -> str | None:
    rows = node.get("/v1/dnt/peers_status")["peers"]
    return next((row["connection"] for row in rows if row["id"] == peer.peer_id), None)


def block_direct(net: NatTopology, blocked: bool) -> None:
    action = "-I" if blocked else "-D"
    for router, other in ((net.routers[0], net.router_ips[1]), (net.routers[1], net.router_ips[0])):
        router.run("iptables", action, "FORWARD", "-o", "wan", "-d", other, "-j", "DROP")


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def relay_in_use(client: NsNode, provider: NsNode, relays: list[NsNode]) -> NsNode | None:
    peers = client.get("/v1/dnt/peers")["peers"]
    addrs = [a for row in peers if row["ID"] == provider.peer_id for a in row["Addrs"]]
    used = [r for r in relays if any(f"/p2p/{r.peer_id}/p2p-circuit" in a for a in addrs)]
    return used[0] if used else None


class Run:
    def __init__(self, net: NatTopology, base: Path, args: argparse.Namespace) -> None:
        self.net, self.base, self.args = net, base, args
        self.nodes: list[NsNode] = []
        self.processes: list[Any] = []
        self.rows: list[tuple[str, float, float, float]] = []

    def node(self, namespace: Any, name: str, port: int, *args: str) -> NsNode:
        node = NsNode(namespace, self.base / name, listen_port=port, http_port=8092 + port - 4001)
        self.nodes.append(node)
        return node.start(*args)

    def upstream(self, namespace: Any, name: str, model: str) -> None:
        args = ("--name", name, "--model", model, "--chunk-delay", CHUNK_DELAY)
        self.processes.append(start_upstream(namespace, UPSTREAM_PORT, *args))

    def measure(self, path: str, client: NsNode, provider: NsNode, model: str) -> None:
        count, streams = self.args.requests, self.args.streams
        local, forwarded = latencies_ms(provider, model, count), latencies_ms(client, model, count)
        added50 = pct(forwarded, 50) - pct(local, 50)
        added99 = pct(forwarded, 99) - pct(local, 99)
        kept = chunks_per_s(client, model, streams) / chunks_per_s(provider, model, streams)
        self.rows.append((path, added50, added99, kept))

    def go(self) -> dict[str, float | None]:
        net = self.net
        block_direct(net, True)
        relays = [
            self.node(net.public, f"relay{n}", 4001 + n, "--public-addr", PUBLIC_IP).wait_healthy()
            for n in (0, 1)
        ]
        boot = [a for r in relays for a in ("--bootstrap", r.addr(PUBLIC_IP))]
        self.upstream(net.public, "Q", PUBLIC_MODEL)
        self.upstream(net.homes[0], "P", HOME_MODEL)
        service = f"llm=http://127.0.0.1:{UPSTREAM_PORT}"
        client = self.node(net.homes[1], "client", 4001, *boot).wait_healthy()
        public = self.node(
            net.public, "public", 4003, *boot, "--service", service,
            "--identity-group", f"llm:model={PUBLIC_MODEL}",
        ).wait_healthy()  # fmt: skip
        started = time.monotonic()
        home = self.node(
            net.homes[0], "home", 4001, *boot, "--service", service,
            "--identity-group", f"llm:model={HOME_MODEL}",
        )  # fmt: skip
        usable = wait_for(lambda: answers(client, HOME_MODEL), 60)
        usable_after_start = None if usable is None else time.monotonic() - started
        wait_for(lambda: answers(client, PUBLIC_MODEL), 60)

        self.measure("relayed", client, home, HOME_MODEL)
        in_use, again = relay_in_use(client, home, relays), None
        if in_use is not None:
            in_use.kill()
            again = wait_for(lambda: answers(client, HOME_MODEL), 60)
        block_direct(net, False)
        punched = wait_for(lambda: connection(client, home) == "direct", 90)
        if punched is not None:
            self.measure("punched", client, home, HOME_MODEL)
        self.measure("direct", client, public, PUBLIC_MODEL)
        return {"usable_after_start": usable_after_start, "usable_after_relay_died": again}

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
        for process in self.processes:
            process.kill()
            process.wait()


def report(rows: list[tuple[str, float, float, float]], times: dict[str, float | None]) -> None:
    print(f"{'path':<10} {'added p50 ms':>13} {'added p99 ms':>13} {'chunks/s kept':>14}")
    for path, added50, added99, kept in rows:
        print(f"{path:<10} {added50:>13.2f} {added99:>13.2f} {kept:>13.1%}")
    by_path = {row[0]: row for row in rows}
    if "relayed" in by_path and "direct" in by_path:
        relayed, direct = by_path["relayed"], by_path["direct"]
        over = relayed[1] - direct[1]
        ratio = relayed[3] / direct[3]
        print(
            f"relayed over direct: p50 {over:+.2f} ms (goal ≤ +5), chunks/s {ratio:.1%} of direct"
        )
    for name, seconds in times.items():
        shown = "never (60 s)" if seconds is None else f"{seconds:.1f} s"
        print(f"{name.replace('_', ' ')}: {shown} (goal ≤ 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--logs", type=Path, help="keep the nodes' data and logs here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/nat.py builds network namespaces: run it as root")
    with tempfile.TemporaryDirectory() as scratch, nat_topology() as net:
        run = Run(net, args.logs or Path(scratch), args)
        try:
            times = run.go()
        finally:
            run.close()
    report(run.rows, times)


if __name__ == "__main__":
    main()
