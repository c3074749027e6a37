"""Circuit relay v2 between real hosts on 127.0.0.1: a relay R, a destination D that
reserved a slot at R, and sources that reach D only through R (``p2p/circuit.py``)."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
from libp2p.peer.id import ID

from computemesh.errors import DialError, MeshError
from computemesh.p2p import circuit
from computemesh.p2p.circuit import CircuitLimits, RelayLimits
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.p2phttp import PROTOCOL
from tests.support.mesh_hosts import LOCALHOST, address, pong

UNLIMITED = CircuitLimits(0, 0)


def limits(stranger: CircuitLimits = UNLIMITED, per_peer: int = 16) -> RelayLimits:
    return RelayLimits(
        member=UNLIMITED,
        stranger=stranger,
        max_reservations=8,
        circuits_per_peer=per_peer,
        reservation_ttl_s=600,
    )


@asynccontextmanager
async def hosts(count: int, relay: RelayLimits, **common: Any) -> AsyncIterator[list[MeshHost]]:
    """The relay first, then ``count - 1`` others; only the relay serves circuits."""
    async with AsyncExitStack() as stack:
        made = []
        for index in range(count):
            options = {"relay_limits": relay, **common} if index == 0 else common
            opened = open_mesh_host(generate("ed25519"), LOCALHOST, **options)
            made.append(await stack.enter_async_context(opened))
        yield made


def circuit_of(relay: MeshHost) -> str:
    return f"{address(relay)}/p2p-circuit"


async def reserved(relay: MeshHost, destination: MeshHost) -> None:
    await destination.dial(address(relay))
    await circuit.reserve(destination._host, ID.from_base58(relay.peer_id))


async def echo_through(source: MeshHost, destination: MeshHost, payload: bytes) -> None:
    stream = await source.open_stream(destination.peer_id, PROTOCOL)
    await stream.write(payload)
    assert await stream.read_exactly(len(payload)) == payload
    await stream.close()


async def test_a_peer_reachable_only_through_a_relay_is_dialed_there() -> None:
    async with hosts(3, limits()) as (relay, destination, source):
        destination.set_handler(PROTOCOL, pong)
        await reserved(relay, destination)
        # The direct address is a port nobody listens on: the circuit is the way.
        await source.dial_peer(destination.peer_id, ["/ip4/127.0.0.1/tcp/1", circuit_of(relay)])
        assert source.connection_kind(destination.peer_id) == "relayed"
        assert destination.connection_kind(source.peer_id) == "relayed"
        await echo_through(source, destination, b"x" * 300_000)
        assert relay.relay is not None
        assert relay.relay.open_circuits() == 1


async def test_no_circuit_to_a_peer_without_a_reservation() -> None:
    async with hosts(3, limits()) as (relay, destination, source):
        await destination.dial(address(relay))
        with pytest.raises(DialError, match="NO_RESERVATION"):
            await source.dial_peer(destination.peer_id, [circuit_of(relay)])


async def test_one_circuit_ending_leaves_another_to_the_same_peer_alone() -> None:
    """py-libp2p keys active circuits by peer: one ending closed the other's streams."""
    async with hosts(4, limits()) as (relay, destination, first, second):
        destination.set_handler(PROTOCOL, pong)
        await reserved(relay, destination)
        for source in (first, second):
            await source.dial_peer(destination.peer_id, [circuit_of(relay)])
        stream = await second.open_stream(destination.peer_id, PROTOCOL)
        await first.disconnect(destination.peer_id)
        assert relay.relay is not None
        for _ in range(100):  # the relay sees the first circuit end
            if relay.relay.open_circuits() == 1:
                break
            await trio.sleep(0.05)
        assert relay.relay.open_circuits() == 1
        await stream.write(b"still here")
        assert await stream.read_exactly(10) == b"still here"


async def test_a_strangers_circuit_ends_at_its_data_limit() -> None:
    bounded = limits(stranger=CircuitLimits(0, 200_000))
    async with hosts(3, bounded) as (relay, destination, source):
        destination.set_handler(PROTOCOL, pong)
        await reserved(relay, destination)
        await source.dial_peer(destination.peer_id, [circuit_of(relay)])
        await echo_through(source, destination, b"y" * 10_000)
        with pytest.raises((MeshError, trio.TooSlowError)):
            with trio.fail_after(10):
                await echo_through(source, destination, b"z" * 300_000)


async def test_circuits_per_peer_are_bounded() -> None:
    async with hosts(4, limits(per_peer=1)) as (relay, destination, first, second):
        await reserved(relay, destination)
        await first.dial_peer(destination.peer_id, [circuit_of(relay)])
        with pytest.raises(DialError, match="RESOURCE_LIMIT_EXCEEDED"):
            await second.dial_peer(destination.peer_id, [circuit_of(relay)])


async def test_a_direct_address_that_swallows_the_dial_does_not_hold_up_the_relay() -> None:
    """A NAT's address (or a hole not punched yet) takes the SYN and never answers; the
    circuit is dialed beside it, so the peer is reached in the time a relay takes."""
    async with hosts(3, limits()) as (relay, destination, source), trio.open_nursery() as silent:
        listeners = await silent.start(partial(trio.serve_tcp, _say_nothing, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        await reserved(relay, destination)
        with trio.fail_after(3):
            addrs = [f"/ip4/127.0.0.1/tcp/{port}", circuit_of(relay)]
            await source.dial_peer(destination.peer_id, addrs)
        assert source.connection_kind(destination.peer_id) == "relayed"
        silent.cancel_scope.cancel()


async def _say_nothing(stream: trio.SocketStream) -> None:
    await trio.sleep_forever()


async def test_members_of_a_private_network_get_circuits_beyond_a_strangers_limit() -> None:
    secret = b"s" * 32
    bounded = limits(stranger=CircuitLimits(0, 200_000))
    async with hosts(3, bounded, network_secret=secret) as (relay, destination, source):
        destination.set_handler(PROTOCOL, pong)
        await reserved(relay, destination)
        await source.dial(address(relay))
        for member in (destination, source):
            assert await relay.wait_member(member.peer_id)
        await source.dial_peer(destination.peer_id, [circuit_of(relay)])
        with trio.fail_after(20):
            await echo_through(source, destination, b"m" * 600_000)  # 1.2 MB both ways
