"""Nodes find their network beyond the bootstraps: mDNS on a LAN, the shared DHT.

Real node processes in network namespaces the test creates (and removes, also when
it fails), all joined by one bridge: a LAN. Multicast stays on that bridge. Needs
root and ``ip``; skipped without them only when CI is unset.
"""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from computemesh import jointoken
from tests.support.netns import Namespace, bridge, namespaces, require_netns
from tests.support.ns_nodes import (
    Processes,
    get,
    peer_id_of,
    start_node,
    stop_all,
    table_ids,
    wait_for,
    wait_healthy,
)

PORT = 4001
MDNS_MESH_S = 10.0  # the bound: one mesh by mDNS within 10 s
DHT_JOIN_S = 30.0
QUIET_S = 6.0  # several mDNS announcement rounds (the first come within 1 s)


def lan_ip(i: int) -> str:
    return f"10.77.0.{i + 1}"


@pytest.fixture
def started() -> Iterator[Processes]:
    processes: Processes = []
    yield processes
    stop_all(processes)


def token() -> str:
    return jointoken.new_token([]).encode()


def test_two_nodes_on_a_lan_form_one_mesh_by_mdns_and_another_network_sees_nothing(
    tmp_path: Path, started: Processes
) -> None:
    require_netns()
    ours, theirs = token(), token()
    with namespaces("lan", "a1", "a2", "b1") as (lan, a1, a2, b1):
        bridge(lan, [(ns, f"{lan_ip(i)}/24") for i, ns in enumerate((a1, a2, b1))])
        ids = {}
        for ns, secret in ((a1, ours), (a2, ours), (b1, theirs)):
            ids[ns] = peer_id_of(tmp_path / ns.name)
            # No bootstrap; a wildcard listener, so mDNS picks the LAN interface itself.
            listen = ("--listen", f"/ip4/0.0.0.0/tcp/{PORT}", "--token", secret)
            start_node(started, ns, tmp_path / ns.name, *listen)
        wait_healthy([a1, a2, b1])
        healthy_at = time.monotonic()
        pair = {ids[a1], ids[a2]}

        meshed = wait_for(lambda: table_ids(a1) == table_ids(a2) == pair, MDNS_MESH_S)
        took = time.monotonic() - healthy_at
        time.sleep(2.0)  # b1 would have been found by now: a1 and a2 were
        b1_table, a1_table = table_ids(b1), table_ids(a1)
        b1_peers = get(b1, "/v1/dnt/peers")

    assert meshed, f"no single mesh {MDNS_MESH_S} s after start (logs in {tmp_path})"
    assert took <= MDNS_MESH_S
    assert b1_table == {ids[b1]}, "a node of another network got table entries"
    assert ids[b1] not in a1_table
    assert b1_peers == {"peers": []}


def test_a_node_on_127_0_0_1_sends_no_multicast(tmp_path: Path, started: Processes) -> None:
    require_netns()
    with namespaces("lan", "quiet", "loud", "watch") as (lan, quiet, loud, watch):
        bridge(lan, [(ns, f"{lan_ip(i)}/24") for i, ns in enumerate((quiet, loud, watch))])
        seen = tmp_path / "mdns.log"
        sniff(started, watch, lan_ip(2), seen)
        start_node(started, quiet, tmp_path / "quiet", "--listen", f"/ip4/127.0.0.1/tcp/{PORT}")
        wait_healthy([quiet])
        time.sleep(QUIET_S)
        from_quiet = sources(seen)
        # The control: the same node listening on its LAN address does announce itself,
        # so the sniffer would have seen the quiet one.
        loud_listen = f"/ip4/{lan_ip(1)}/tcp/{PORT}"
        start_node(started, loud, tmp_path / "loud", "--listen", loud_listen)
        wait_healthy([loud])
        heard_loud = wait_for(lambda: lan_ip(1) in sources(seen), QUIET_S)

    assert from_quiet == set(), f"multicast on the LAN from {from_quiet}"
    assert heard_loud, "the sniffer saw nothing from a node listening on the LAN"


def test_py_libp2p_mdns_multicasts_from_a_loopback_only_host(
    tmp_path: Path, started: Processes
) -> None:
    """The defect behind ``p2p/lan.py``: were py-libp2p's MDNSDiscovery used, the node
    above would multicast on the LAN although it listens on 127.0.0.1 only."""
    require_netns()
    with namespaces("lan", "host", "watch") as (lan, host, watch):
        bridge(lan, [(ns, f"{lan_ip(i)}/24") for i, ns in enumerate((host, watch))])
        seen = tmp_path / "mdns.log"
        sniff(started, watch, lan_ip(1), seen)
        command = [sys.executable, "-m", "tests.support.libp2p_mdns"]
        announcer = host.popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        started.append(announcer)
        assert announcer.stdout is not None
        assert announcer.stdout.readline() == b"started\n"
        heard = wait_for(lambda: lan_ip(0) in sources(seen), QUIET_S)

    assert heard, "py-libp2p's mDNS no longer multicasts from a loopback-only host"


def test_a_member_told_only_an_open_mesh_node_finds_its_network_by_the_dht(
    tmp_path: Path, started: Processes
) -> None:
    require_netns()
    secret = token()
    with namespaces("lan", "open", "t1", "t2", "t3") as (lan, open_ns, t1, t2, t3):
        members = (t1, t2, t3)
        bridge(lan, [(ns, f"{lan_ip(i)}/24") for i, ns in enumerate((open_ns, *members))])
        ids = {ns: peer_id_of(tmp_path / ns.name) for ns in (open_ns, *members)}
        wildcard = ("--listen", f"/ip4/0.0.0.0/tcp/{PORT}", "--no-mdns")
        start_node(started, open_ns, tmp_path / open_ns.name, *wildcard)
        wait_healthy([open_ns])
        # Everyone is told only the open mesh node, which is no member of T.
        told = ("--bootstrap", f"/ip4/{lan_ip(0)}/tcp/{PORT}/p2p/{ids[open_ns]}")
        for ns in (t1, t2):
            start_node(started, ns, tmp_path / ns.name, *wildcard, *told, "--token", secret)
        wait_healthy([t1, t2])
        first_two = {ids[t1], ids[t2]}
        pair_met = wait_for(lambda: table_ids(t1) == table_ids(t2) == first_two, DHT_JOIN_S)
        start_node(started, t3, tmp_path / t3.name, *wildcard, *told, "--token", secret)
        wait_healthy([t3])
        all_t = {ids[ns] for ns in members}
        joined = wait_for(lambda: table_ids(t3) == all_t, DHT_JOIN_S)
        tables = {ns: table_ids(ns) for ns in (open_ns, *members)}
        open_peers = get(open_ns, "/v1/dnt/peers") or {}

    assert pair_met, f"the first two members never met through the DHT (logs in {tmp_path})"
    assert joined, f"t3 did not join T: its table is {tables[t3]}"
    assert all(tables[ns] == all_t for ns in members)
    assert tables[open_ns] == {ids[open_ns]}, "the open mesh node saw T's table"
    # It was the rendezvous, so it was connected to them all the while.
    assert {p["ID"] for p in open_peers.get("peers", [])} & all_t


def sniff(started: Processes, namespace: Namespace, interface: str, out: Path) -> None:
    command = [sys.executable, "-m", "tests.support.mdns_sniffer"]
    sniffer = namespace.popen(
        [*command, "--interface", interface, "--out", str(out)], stdout=subprocess.PIPE
    )
    started.append(sniffer)
    assert sniffer.stdout is not None
    assert sniffer.stdout.readline() == b"listening\n"


def sources(log: Path) -> set[str]:
    if not log.exists():
        return set()
    return {line.split()[1] for line in log.read_text().splitlines() if line.strip()}
