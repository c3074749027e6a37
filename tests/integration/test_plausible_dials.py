"""A node dials only the plausible addresses that records claim, at a bounded rate.

Two network namespaces the test creates, joined by a veth pair: the node's
(198.18.0.1/24 and its own loopback) and another machine's (198.18.0.2/24, plus
10.77.0.5 and all of 11.0.0.0/8 as local addresses, which the node reaches by its
default route over the veth). A real member peer on the other machine hands the
node records, each valid and signed by its own identity, claiming a port on the
node's loopback, a private address of a range the node has no interface in, an
address on their shared LAN, and public addresses. Listeners on all of them log
every connection the node opens; nothing outside the namespaces is involved.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from computemesh.p2p.identity import load_or_create
from tests.support.netns import Namespace, link, namespaces, require_netns

NODE_IP, OTHER_IP = "198.18.0.1", "198.18.0.2"
PRIVATE_ELSEWHERE = "10.77.0.5"
LOOPBACK_PORT, CLAIMED_PORT, NODE_PORT = 4100, 4200, 4001
RATE, BURST = 5, 10
PUBLIC_CLAIMS = 30
SETTLE_S = 60.0
CONNECT_ROUNDS_S = 4.0

Processes = list["subprocess.Popen[bytes]"]


def python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def accepts(log: Path) -> list[tuple[float, str]]:
    """``(time, local ip)`` of every connection a counter accepted."""
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines() if line.strip()]
    return [(float(row[0]), row[1]) for row in rows]


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)


def wire(node: Namespace, other: Namespace) -> None:
    link(node, f"{NODE_IP}/24", other, f"{OTHER_IP}/24")
    node.ip("route", "add", "default", "via", OTHER_IP)
    other.ip("addr", "add", f"{PRIVATE_ELSEWHERE}/32", "dev", "lo")
    other.ip("route", "add", "local", "11.0.0.0/8", "dev", "lo", "table", "local")


def start_counter(started: Processes, namespace: Namespace, listen: str, log: Path) -> None:
    command = python("tests.support.accept_counter", "--listen", listen, "--out", str(log))
    counter = namespace.popen(command, stdout=subprocess.PIPE)
    started.append(counter)
    assert counter.stdout is not None
    assert counter.stdout.readline() == b"listening\n"


def start_node(started: Processes, namespace: Namespace, data_dir: Path) -> None:
    command = python(
        "computemesh.cli", "node", "start", "--data-dir", str(data_dir),
        "--listen", f"/ip4/{NODE_IP}/tcp/{NODE_PORT}", "--log-level", "WARNING",
    )  # fmt: skip
    env = {**os.environ, "COMPUTEMESH_DIAL_RATE": str(RATE), "COMPUTEMESH_DIAL_BURST": str(BURST)}
    with (data_dir.parent / "node.log").open("wb") as log:
        started.append(namespace.popen(command, stdout=log, stderr=log, env=env))


def hand_over_claims(started: Processes, namespace: Namespace, node: str, claims: Path) -> None:
    command = python(
        "tests.support.address_claims", "--listen", f"/ip4/{OTHER_IP}/tcp/0",
        "--node", node, "--claims", str(claims),
    )  # fmt: skip
    claimer = namespace.popen(command, stdout=subprocess.PIPE)
    started.append(claimer)
    assert claimer.stdout is not None
    assert claimer.stdout.readline().startswith(b"published ")


@pytest.fixture
def started() -> Iterator[Processes]:
    processes: Processes = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def test_claimed_addresses_are_dialed_only_where_plausible_at_a_bounded_rate(
    tmp_path: Path, started: Processes
) -> None:
    require_netns()
    loopback_log, other_log = tmp_path / "loopback.log", tmp_path / "other.log"
    claims = [
        [f"/ip4/127.0.0.1/tcp/{LOOPBACK_PORT}"],  # the node's own loopback
        [f"/ip4/{PRIVATE_ELSEWHERE}/tcp/{CLAIMED_PORT}"],  # a LAN the node is not on
        [f"/ip4/{OTHER_IP}/tcp/{CLAIMED_PORT}"],  # their shared LAN: plausible
        *([f"/ip4/11.{i}.{i * 7 % 256}.9/tcp/{CLAIMED_PORT}"] for i in range(PUBLIC_CLAIMS)),
    ]
    (tmp_path / "claims.json").write_text(json.dumps(claims))
    data_dir = tmp_path / "node"
    peer_id = load_or_create(data_dir, "ed25519").peer_id

    def dialed(prefix: str) -> list[str]:
        return [ip for _, ip in accepts(other_log) if ip.startswith(prefix)]

    def all_dialed() -> bool:
        return bool(dialed(OTHER_IP)) and len(set(dialed("11."))) == PUBLIC_CLAIMS

    with namespaces("node", "other") as (node_ns, other_ns):
        wire(node_ns, other_ns)
        start_counter(started, node_ns, f"127.0.0.1:{LOOPBACK_PORT}", loopback_log)
        start_counter(started, other_ns, f"0.0.0.0:{CLAIMED_PORT}", other_log)
        start_node(started, node_ns, data_dir)
        node_addr = f"/ip4/{NODE_IP}/tcp/{NODE_PORT}/p2p/{peer_id}"
        hand_over_claims(started, other_ns, node_addr, tmp_path / "claims.json")
        # Every plausible claim dialed, then a few more rounds of the node's connect
        # loop (one a second): unpaced, the loopback claim is dialed several times.
        wait_for(all_dialed, SETTLE_S)
        time.sleep(CONNECT_ROUNDS_S)
        for process in reversed(started):
            process.kill()
            process.wait()

    assert all_dialed(), "the plausible LAN and public claims were not all dialed"
    assert accepts(loopback_log) == [], "dialed its own loopback for a peer elsewhere"
    assert dialed(PRIVATE_ELSEWHERE) == [], "dialed a private range it has no interface in"
    every = sorted(when for when, _ in accepts(other_log))
    for i, start in enumerate(every):
        in_a_second = [t for t in every[i:] if t - start <= 1.0]
        # Unpaced, every claimed record is dialed at once, with three retries each.
        assert len(in_a_second) <= BURST + RATE + 2, f"{len(in_a_second)} dials in one second"
