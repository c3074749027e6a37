"""Opening ``/libp2p-http`` streams to peers, dialing them first when needed."""

from collections.abc import Callable

from computemesh.errors import MeshError
from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost
from computemesh.p2p.stream import MeshStream
from computemesh.p2phttp import PROTOCOL
from computemesh.p2phttp.pool import ChannelPool

Addresses = Callable[[PeerId], list[str]]


def mesh_pool(host: MeshHost, addresses: Addresses = lambda _: []) -> ChannelPool:
    """A channel pool over streams to peers (destinations are peer ids)."""

    async def open_stream(destination: str) -> MeshStream:
        peer = PeerId(destination)
        if not host.is_connected(peer):
            # Not every table member is a direct neighbour (max_peers); dial it.
            await host.dial_peer(peer, addresses(peer))
        try:
            return await host.open_stream(peer, PROTOCOL)
        except MeshError:
            # The connection went away between the check and the stream (seen right
            # after two nodes meet); one fresh dial settles it.
            await host.dial_peer(peer, addresses(peer))
            return await host.open_stream(peer, PROTOCOL)

    pool = ChannelPool(open_stream)

    def on_connection(peer: PeerId, connected: bool) -> None:
        if not connected:
            pool.forget(peer)  # streams die with their connection
        elif host.connection_kind(peer) == "direct":
            pool.retire(peer)  # a hole punched: requests move off the relayed connection

    host.on_connection(on_connection)
    return pool
