"""Real libp2p hosts on 127.0.0.1 for the p2p tests, and what those tests reach inside them."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio.testing
from libp2p.peer.id import ID

from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.p2p.stream import MeshStream

LOCALHOST = ["/ip4/127.0.0.1/tcp/0"]
PINGPONG = "/computemesh-test/ping-pong/1.0.0"


@asynccontextmanager
async def mesh_host() -> AsyncIterator[MeshHost]:
    async with open_mesh_host(generate("ed25519"), LOCALHOST) as host:
        yield host


def address(host: MeshHost) -> str:
    return f"{host.listen_addrs()[0]}/p2p/{host.peer_id}"


def network(host: MeshHost) -> Any:
    return host._host.get_network()


def tcp_stream(host: MeshHost, peer: PeerId) -> Any:
    """The TCP stream under the Noise session of ``host``'s connection to ``peer``."""
    (connection,) = network(host).get_connections(ID.from_base58(peer))
    return connection.muxed_conn.secured_conn.conn.conn.stream


async def pong(stream: MeshStream) -> None:
    """Sends back whatever arrives, until the other side closes."""
    while chunk := await stream.read(65536):
        await stream.write(chunk)


async def quiet_stream(node: MeshHost, client: MeshHost) -> MeshStream:
    """A warmed-up echo stream from ``client`` to ``node``, once no other frame is on its way."""
    node.set_handler(PINGPONG, pong, members_only=False)
    await client.dial(address(node))
    stream = await client.open_stream(node.peer_id, PINGPONG)
    await stream.write(b"warm")
    assert await stream.read_exactly(4) == b"warm"
    await trio.testing.wait_all_tasks_blocked()  # the hosts' own frames (identify, pubsub) sent
    return stream
