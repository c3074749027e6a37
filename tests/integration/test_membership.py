"""Private networks: only holders of the join token's secret join or read the table."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from computemesh import jointoken
from computemesh.cli.localmesh import LocalNode, wait_until
from computemesh.errors import MeshError
from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.registry.sync import SYNC_PROTOCOL
from tests.integration.conftest import StartNode

CONVERGE_S = 30.0


def test_node_with_the_wrong_token_cannot_join_or_read(start_node: StartNode) -> None:
    ours, theirs = jointoken.new_token([]).encode(), jointoken.new_token([]).encode()
    first = start_node("--public-addr", "127.0.0.1", "--token", ours)
    member = start_node("--bootstrap", first.bootstrap_addr(), "--token", ours)
    outsider = start_node("--bootstrap", first.bootstrap_addr(), "--token", theirs)
    pair = {first.peer_id, member.peer_id}
    assert wait_until(lambda: first.online_ids() == member.online_ids() == pair, CONVERGE_S)

    def outsider_got_in() -> bool:
        return outsider.peer_id in first.table(all=True) or len(outsider.table(all=True)) > 1

    # several redial rounds later it still has not got in, and has read nothing
    assert not wait_until(outsider_got_in, 4.0)
    assert outsider.get("/v1/dnt/peers") == {"peers": []}
    assert outsider.peer_id not in {p["ID"] for p in first.get("/v1/dnt/peers")["peers"]}
    # The refusals are counted where they happen: at the node the outsider dialed.
    assert failed_challenges(first) >= 1
    # The member may meet the outsider too (the shared DHT tells it of every peer), so its
    # own count is not fixed; the entry the outsider dialed has counted it.


def failed_challenges(node: LocalNode) -> float:
    text = httpx.get(f"{node.url}/metrics", timeout=10).text
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    name = "computemesh_membership_challenges_failed_total"
    return next(s.value for s in samples if s.name == name)


def test_token_carries_the_bootstraps(start_node: StartNode) -> None:
    first = start_node("--public-addr", "127.0.0.1", "--token", jointoken.new_token([]).encode())
    secret = jointoken.decode(first.args[-1]).secret
    token = jointoken.JoinToken(secret, (first.bootstrap_addr(),)).encode()
    joiner = start_node("--token", token)
    assert wait_until(lambda: first.peer_id in joiner.online_ids(), CONVERGE_S)


async def fetch_table(host: MeshHost, peer: PeerId) -> bytes:
    stream = await host.open_stream(peer, SYNC_PROTOCOL)
    await stream.write_frame(b'{"records": []}')
    return await stream.read_frame()


async def test_peer_without_the_secret_cannot_fetch_the_table(start_node: StartNode) -> None:
    private = start_node("--public-addr", "127.0.0.1", "--token", jointoken.new_token([]).encode())
    addr = private.bootstrap_addr()
    async with open_mesh_host(generate("ed25519"), ["/ip4/127.0.0.1/tcp/0"]) as intruder:
        peer = await intruder.dial(addr)
        with pytest.raises(MeshError):
            await fetch_table(intruder, peer)
