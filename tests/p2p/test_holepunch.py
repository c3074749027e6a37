"""After a hole punch, the relayed connection goes only once nothing rides on it
(``p2p/holepunch.py``): real hosts on 127.0.0.1, a relay R, a destination D reserved
at R, and a source S connected to D both through R and directly (as a punched hole
leaves them)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from libp2p.peer.id import ID
from libp2p.relay.circuit_v2.dcutr import DCUtRProtocol
from multiaddr import Multiaddr

from computemesh.p2p.host import MeshHost
from computemesh.p2p.stream import MeshStream
from computemesh.p2phttp import PROTOCOL
from tests.p2p.test_circuit import circuit_of, hosts, limits, reserved
from tests.support.mesh_hosts import network, pong


@asynccontextmanager
async def punched() -> AsyncIterator[tuple[MeshHost, MeshHost, MeshStream]]:
    """S and D with a relayed connection carrying an open stream, then a direct one."""
    async with hosts(3, limits()) as (relay, destination, source):
        destination.set_handler(PROTOCOL, pong)
        await reserved(relay, destination)
        await source.dial_peer(destination.peer_id, [circuit_of(relay)])
        stream = await source.open_stream(destination.peer_id, PROTOCOL)
        hole = Multiaddr(destination.listen_addrs()[0])  # the hole, as DCUtR leaves it
        await network(source).dial_addr(hole, ID.from_base58(destination.peer_id))
        assert len(relayed(source, destination)) == 1
        assert source.connection_kind(destination.peer_id) == "direct"
        yield source, destination, stream


def relayed(source: MeshHost, destination: MeshHost) -> list[object]:
    conns = network(source).get_connections(ID.from_base58(destination.peer_id))
    return [c for c in conns if "/p2p-circuit" in str(c.get_transport_addresses())]


async def echoes(stream: MeshStream) -> bool:
    await stream.write(b"ping")
    return await stream.read_exactly(4) == b"ping"


async def test_the_relayed_connection_stays_while_a_stream_is_open_and_goes_after() -> None:
    async with punched() as (source, destination, stream):
        source.holepunch._retire_relayed_later(ID.from_base58(destination.peer_id))
        await trio.sleep(3)
        assert relayed(source, destination)
        assert await echoes(stream)
        await stream.close()
        for _ in range(50):
            if not relayed(source, destination):
                break
            await trio.sleep(0.2)
        assert not relayed(source, destination)
        assert source.connection_kind(destination.peer_id) == "direct"


async def test_py_libp2ps_own_close_cuts_a_stream_in_flight() -> None:
    """The defect: DCUtR closes the relayed connection after its grace, streams or not."""
    async with punched() as (source, destination, stream):
        dcutr = DCUtRProtocol(source._host)
        await dcutr._close_relayed_conns_after_grace(ID.from_base58(destination.peer_id), 0.1)
        assert not relayed(source, destination)
        with trio.fail_after(5):
            assert not await _echoes_quietly(stream)


async def _echoes_quietly(stream: MeshStream) -> bool:
    try:
        return await echoes(stream)
    except Exception:
        return False
