"""Forged, re-signed and replayed records sent by a real peer are rejected by a node."""

import base64
import json

import anyio

from computemesh.cli.localmesh import LocalNode
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import NodeIdentity, generate
from computemesh.protocol.mesh import NodeClaims, SignedRecord, TableSnapshot
from computemesh.registry.records import sign
from computemesh.registry.sync import SYNC_PROTOCOL, TOPIC
from tests.integration.conftest import StartNode
from tests.support.newer_records import newer_payload, signed


def claims(identity: NodeIdentity, seq: int, peer_id: str | None = None) -> NodeClaims:
    return NodeClaims(
        peer_id=peer_id or identity.peer_id, seq=seq, issued_at=_now(), ttl=300, owner=f"seq-{seq}"
    )


def _now() -> float:
    import time

    return time.time()


async def gossip(host: MeshHost, record: SignedRecord) -> None:
    await host.publish(TOPIC, record.model_dump_json().encode())


async def seen_by(node: LocalNode, peer_id: str) -> dict[str, object] | None:
    await anyio.sleep(1.0)  # let the node process the message
    table = await anyio.to_thread.run_sync(lambda: node.table(all=True))
    return table.get(f"/{peer_id}")


async def test_forged_and_replayed_gossip_is_rejected(start_node: StartNode) -> None:
    node = start_node("--public-addr", "127.0.0.1")
    attacker, victim = generate("ed25519"), generate("ed25519")
    async with open_mesh_host(attacker, ["/ip4/127.0.0.1/tcp/0"]) as host:
        await host.subscribe(TOPIC, lambda data, author: None, lambda data: True)
        await host.dial(node.bootstrap_addr())
        await anyio.sleep(2.0)  # gossipsub mesh forms on its 1 s heartbeat

        # a record naming another peer, signed with the attacker's key
        await gossip(host, sign(claims(attacker, 50, peer_id=victim.peer_id), attacker.sign))
        # a record whose signature is garbage
        genuine = sign(claims(attacker, 60), attacker.sign)
        await gossip(
            host,
            SignedRecord(payload=genuine.payload, signature=base64.b64encode(b"\0" * 64).decode()),
        )
        assert await seen_by(node, victim.peer_id) is None

        # the attacker's genuine record is accepted; an older one replayed later is not
        await gossip(host, genuine)
        entry = await seen_by(node, attacker.peer_id)
        assert entry is not None
        assert entry["owner"] == "seq-60"
        await gossip(host, sign(claims(attacker, 40), attacker.sign))
        entry = await seen_by(node, attacker.peer_id)
        assert entry is not None
        assert entry["owner"] == "seq-60"


async def test_forged_records_in_an_anti_entropy_snapshot_are_rejected(
    start_node: StartNode,
) -> None:
    node = start_node("--public-addr", "127.0.0.1")
    attacker, victim = generate("ed25519"), generate("secp256k1")
    forged = sign(claims(attacker, 5, peer_id=victim.peer_id), attacker.sign)
    async with open_mesh_host(attacker, ["/ip4/127.0.0.1/tcp/0"]) as host:
        peer = await host.dial(node.bootstrap_addr())
        stream = await host.open_stream(peer, SYNC_PROTOCOL)
        await stream.write_frame(TableSnapshot(records=(forged,)).model_dump_json().encode())
        reply = TableSnapshot.model_validate_json(await stream.read_frame())
        assert reply.records  # the node answered with its own table
        assert await seen_by(node, victim.peer_id) is None


async def test_a_peer_cutting_an_exchange_short_is_not_an_error(start_node: StartNode) -> None:
    node = start_node("--public-addr", "127.0.0.1")
    async with open_mesh_host(generate("ed25519"), ["/ip4/127.0.0.1/tcp/0"]) as host:
        peer = await host.dial(node.bootstrap_addr())
        stream = await host.open_stream(peer, SYNC_PROTOCOL)
        await stream.write(b"\x00\x00")  # half of a frame's length, then gone
        await stream.close()
        await anyio.sleep(1.0)
        again = await host.open_stream(peer, SYNC_PROTOCOL)
        await again.write_frame(TableSnapshot(records=()).model_dump_json().encode())
        assert TableSnapshot.model_validate_json(await again.read_frame()).records
    assert "Traceback" not in node.log_tail(200)


async def test_a_newer_nodes_record_is_accepted_by_gossip_and_by_exchange(
    start_node: StartNode,
) -> None:
    node = start_node("--public-addr", "127.0.0.1")
    newer, relayed = generate("ed25519"), generate("ed25519")
    async with open_mesh_host(newer, ["/ip4/127.0.0.1/tcp/0"]) as host:
        await host.subscribe(TOPIC, lambda data, author: None, lambda data: True)
        peer = await host.dial(node.bootstrap_addr())
        await anyio.sleep(2.0)  # gossipsub mesh forms on its 1 s heartbeat
        await gossip(host, signed(newer_payload(newer, _now()), newer))
        # and a newer record of another node, handed over in a table exchange
        stream = await host.open_stream(peer, SYNC_PROTOCOL)
        snapshot = {"records": [signed(newer_payload(relayed, _now()), relayed).model_dump()]}
        await stream.write_frame(json.dumps({**snapshot, "cursor": 1}).encode())
        await stream.read_frame()
        for author in (newer, relayed):
            entry = await seen_by(node, author.peer_id)
            assert entry is not None
            assert [s["identity_group"] for s in entry["service"]] == [["model=m"]]
    stats = await anyio.to_thread.run_sync(node.get, "/v1/dnt/stats")
    assert stats["rejected_records"] == {"malformed": 0, "forged": 0, "expired": 0, "future": 0}


async def test_refused_records_are_counted_by_reason_and_logged_once(
    start_node: StartNode,
) -> None:
    node = start_node("--public-addr", "127.0.0.1")
    attacker, victim = generate("ed25519"), generate("ed25519")
    forged = [sign(claims(attacker, seq, peer_id=victim.peer_id), attacker.sign) for seq in (7, 8)]
    async with open_mesh_host(attacker, ["/ip4/127.0.0.1/tcp/0"]) as host:
        peer = await host.dial(node.bootstrap_addr())
        stream = await host.open_stream(peer, SYNC_PROTOCOL)
        await stream.write_frame(TableSnapshot(records=tuple(forged)).model_dump_json().encode())
        await stream.read_frame()
        assert await seen_by(node, victim.peer_id) is None
    stats = await anyio.to_thread.run_sync(node.get, "/v1/dnt/stats")
    assert stats["rejected_records"]["forged"] == 2
    logged = [line for line in node.log_tail(200).splitlines() if "rejected a node record" in line]
    assert len(logged) == 1
    assert f"(forged) naming {victim.peer_id}" in logged[0]
    assert "does not verify" in logged[0]
