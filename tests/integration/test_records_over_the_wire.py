"""Forged, re-signed and replayed records sent by a real peer are rejected by a node."""

import base64

import anyio

from computemesh.cli.localmesh import LocalNode
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import NodeIdentity, generate
from computemesh.protocol.mesh import NodeClaims, SignedRecord, TableSnapshot
from computemesh.registry.records import sign
from computemesh.registry.sync import SYNC_PROTOCOL, TOPIC
from tests.integration.conftest import StartNode


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
