"""A mesh of real node processes: convergence, failure detection, tombstones, restarts."""

from computemesh.cli.localmesh import wait_until
from tests.integration.conftest import StartNode

CONVERGE_S = 30.0
FAST = {"COMPUTEMESH_RECORD_REFRESH": "1", "COMPUTEMESH_RECONNECT_INITIAL": "0.2"}


def test_five_nodes_converge_through_one_bootstrap(start_node: StartNode) -> None:
    bootstrap = start_node("--public-addr", "127.0.0.1")
    source = ["--bootstrap-source", f"{bootstrap.url}/v1/dnt/bootstraps"]
    static = ["--bootstrap", bootstrap.bootstrap_addr()]
    nodes = [bootstrap] + [start_node(*(source if i % 2 else static)) for i in range(4)]
    everyone = {node.peer_id for node in nodes}
    assert wait_until(lambda: all(n.online_ids() == everyone for n in nodes), CONVERGE_S)
    # every node keeps a direct connection to every other (so a loss is seen at once)
    assert wait_until(
        lambda: all(len(n.get("/v1/dnt/peers")["peers"]) == 4 for n in nodes), CONVERGE_S
    )


def test_sigkilled_node_goes_offline_everywhere_within_its_ttl(start_node: StartNode) -> None:
    ttl = 8.0
    args = ["--record-ttl", str(ttl)]
    bootstrap = start_node("--public-addr", "127.0.0.1", *args, env=FAST)
    others = [
        start_node("--bootstrap", bootstrap.bootstrap_addr(), *args, env=FAST) for _ in range(3)
    ]
    victim = others.pop()
    survivors = [bootstrap, *others]
    assert wait_until(lambda: all(victim.peer_id in n.online_ids() for n in survivors), CONVERGE_S)
    assert wait_until(
        lambda: all(len(n.get("/v1/dnt/peers")["peers"]) == 3 for n in survivors), CONVERGE_S
    )
    victim.kill()
    # the bound: its last record's TTL plus one tick of the expiry loop
    assert wait_until(
        lambda: all(victim.peer_id not in n.online_ids() for n in survivors), ttl + 1.5
    )
    # and once its record expires it leaves even the table that includes offline nodes
    assert wait_until(
        lambda: all(f"/{victim.peer_id}" not in n.table(all=True) for n in survivors), ttl + 1.5
    )


def test_graceful_stop_publishes_a_tombstone(start_node: StartNode) -> None:
    long_ttl = ["--record-ttl", "600"]  # so only a tombstone, not expiry, can remove it
    bootstrap = start_node("--public-addr", "127.0.0.1", *long_ttl)
    leaving = start_node("--bootstrap", bootstrap.bootstrap_addr(), *long_ttl)
    key = f"/{leaving.peer_id}"
    assert wait_until(lambda: key in bootstrap.table(all=True), CONVERGE_S)
    assert leaving.stop() == 0
    assert wait_until(lambda: key not in bootstrap.table(all=True), CONVERGE_S)


def test_restarted_node_keeps_its_peer_id_and_rejoins(start_node: StartNode) -> None:
    bootstrap = start_node("--public-addr", "127.0.0.1")
    addr = bootstrap.bootstrap_addr()
    node = start_node("--bootstrap", addr, name="restarting")
    first_id = node.peer_id
    assert wait_until(lambda: first_id in bootstrap.online_ids(), CONVERGE_S)
    assert node.stop() == 0
    assert wait_until(lambda: first_id not in bootstrap.online_ids(), CONVERGE_S)
    node.start().wait_healthy()
    assert node.peer_id == first_id
    # its new records outrank its own tombstone
    assert wait_until(lambda: first_id in bootstrap.online_ids(), CONVERGE_S)


def test_node_redials_a_bootstrap_that_comes_back(start_node: StartNode) -> None:
    bootstrap = start_node("--public-addr", "127.0.0.1", name="boot")
    addr, port = bootstrap.bootstrap_addr(), bootstrap.bootstrap_addr().split("/")[4]
    # a low backoff cap, so the test does not depend on where in a doubling sleep
    # the follower is when the bootstrap returns
    follower = start_node("--bootstrap", addr, env={**FAST, "COMPUTEMESH_RECONNECT_MAX": "2"})
    assert wait_until(lambda: bootstrap.peer_id in follower.online_ids(), CONVERGE_S)
    bootstrap.kill()
    assert wait_until(lambda: follower.get("/v1/dnt/peers")["peers"] == [], CONVERGE_S)
    bootstrap.start(listen=f"/ip4/127.0.0.1/tcp/{port}").wait_healthy()
    assert wait_until(lambda: bootstrap.peer_id in follower.online_ids(), CONVERGE_S)


def test_standalone_node_joins_nothing(start_node: StartNode) -> None:
    bootstrap = start_node("--public-addr", "127.0.0.1")
    alone = start_node("--standalone", "--bootstrap", bootstrap.bootstrap_addr())
    assert not wait_until(lambda: len(alone.table()) > 1, 3.0)
    assert alone.get("/v1/dnt/peers") == {"peers": []}
