"""The shared DHT (``computemesh.p2p.dht``): our protocol id, rendezvous lookups that
ask the network, and outsiders that may use it but get nothing else.

Each test fails without the workaround it names. All hosts are real and listen on
127.0.0.1; every computemesh DHT host runs with ``dht=True``.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.kad_dht import common as kad_common
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID

from computemesh import jointoken
from computemesh.errors import MeshError
from computemesh.p2p import kad_protocol
from computemesh.p2p.dht import MeshDHT
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.p2p.membership import MAX_OUTSIDERS
from computemesh.p2p.rendezvous import lan_service_type, rendezvous_key
from tests.support.mesh_hosts import LOCALHOST, PINGPONG, address, pong

SETTLE_S = 15.0
IPFS_KAD = TProtocol("/ipfs/kad/1.0.0")


@asynccontextmanager
async def dht_host(secret: bytes | None = None) -> AsyncIterator[MeshHost]:
    async with open_mesh_host(generate("ed25519"), LOCALHOST, network_secret=secret, dht=True) as h:
        yield h


def dht_of(host: MeshHost) -> MeshDHT:
    assert host.dht is not None
    return host.dht


async def eventually(condition: Callable[[], bool], what: str) -> None:
    with trio.move_on_after(SETTLE_S):
        for _ in iter(int, 1):
            if condition():
                return
            await trio.sleep(0.05)
    assert condition(), f"still not true after {SETTLE_S} s: {what}"


async def providers_until(finder: MeshHost, key: str, wanted: set[str]) -> set[str]:
    """Look ``key`` up until ``wanted`` are among the providers (announces spread)."""
    found: set[str] = set()
    with trio.move_on_after(SETTLE_S):
        while not wanted <= found:
            found = {peer for peer, _ in await dht_of(finder).providers(key)}
            await trio.sleep(0.2)
    return found


# -- the DHT speaks our protocol id (kad_protocol) -----------------------------------


async def test_the_dht_answers_our_protocol_and_not_the_ipfs_one() -> None:
    async with dht_host() as node:
        protocols = node.protocols()
    assert kad_protocol.KAD_PROTOCOL in protocols
    assert IPFS_KAD not in protocols


def test_unpatched_py_libp2p_ignores_its_protocol_prefix() -> None:
    """The defect itself: any prefix, and the handler is still /ipfs/kad/1.0.0."""
    assert kad_common.PROTOCOL_ID in (IPFS_KAD, kad_protocol.KAD_PROTOCOL)
    registered: list[str] = []

    class Recorder:
        def get_id(self) -> ID:
            return ID.from_pubkey(generate("ed25519").key_pair.public_key)

        def set_stream_handler(self, protocol: str, handler: object) -> None:
            registered.append(protocol)

        def __getattr__(self, name: str) -> object:
            raise AttributeError(name)

    saved = {module: module.PROTOCOL_ID for module in kad_protocol.HOLDERS}
    try:
        for module in kad_protocol.HOLDERS:
            module.PROTOCOL_ID = IPFS_KAD  # type: ignore[attr-defined]
        KadDHT(Recorder(), DHTMode.SERVER, protocol_prefix=TProtocol("/computemesh"))  # type: ignore[arg-type]
    finally:
        for module, protocol in saved.items():
            module.PROTOCOL_ID = protocol  # type: ignore[attr-defined]
    assert registered == [IPFS_KAD]


def test_a_changed_py_libp2p_constant_refuses_the_fix() -> None:
    saved = kad_common.PROTOCOL_ID
    kad_common.PROTOCOL_ID = TProtocol("/ipfs/kad/2.0.0")
    try:
        with pytest.raises(MeshError, match="PROTOCOL_ID"):
            kad_protocol.install()
    finally:
        kad_common.PROTOCOL_ID = saved


# -- rendezvous lookups ask the network (MeshDHT.providers) ----------------------------


async def test_a_member_finds_another_through_a_node_it_shares_with_it() -> None:
    secret = jointoken.new_token([]).secret
    key = rendezvous_key(secret)
    async with AsyncExitStack() as stack:
        middle = await stack.enter_async_context(dht_host())  # an open mesh node
        first = await stack.enter_async_context(dht_host(secret))
        second = await stack.enter_async_context(dht_host(secret))
        await first.dial(address(middle))
        await eventually(lambda: dht_of(first).size() == 1, "first's routing table has middle")
        assert await dht_of(first).announce(key)  # told to middle, before second exists
        await second.dial(address(middle))
        await eventually(lambda: dht_of(second).size() >= 1, "second's routing table has middle")
        # The second one announced itself, so py-libp2p's own lookup answers from its
        # cache (only itself) and never asks the network.
        assert await dht_of(second).announce(key)
        cached = await dht_of(second)._kad.find_providers(key)
        found = await providers_until(second, key, {first.peer_id})

    assert first.peer_id in found
    assert second.peer_id not in found, "a lookup returns other providers, not this node"
    assert [info.peer_id.to_base58() for info in cached] == [second.peer_id]


async def test_providers_come_with_the_addresses_to_dial() -> None:
    key = rendezvous_key(None)
    async with dht_host() as middle, dht_host() as provider, dht_host() as finder:
        await provider.dial(address(middle))
        await finder.dial(address(middle))
        await eventually(lambda: dht_of(provider).size() == 1, "provider knows middle")
        assert await dht_of(provider).announce(key)
        found = dict(await dht_of(finder).providers(key))
        assert found.get(provider.peer_id) == provider.listen_addrs()


# -- outsiders: the DHT only (membership.py) -----------------------------------------


async def test_an_outsider_stays_connected_for_the_dht_and_gets_no_table() -> None:
    secret = jointoken.new_token([]).secret
    async with dht_host(secret) as member, dht_host() as outsider:
        member.set_handler(PINGPONG, pong)  # members only, as every handler of ours
        await outsider.dial(address(member))
        await eventually(
            lambda: outsider.peer_id in member.outsiders(), "the member marked it an outsider"
        )
        await trio.sleep(1.0)
        assert member.is_connected(outsider.peer_id), "disconnected: no DHT across networks"
        assert outsider.peer_id not in member.connected_peers()
        await eventually(lambda: dht_of(member).size() == 1, "the outsider is in the DHT table")
        # DHT traffic from the outsider is answered ...
        assert await dht_of(outsider).announce(rendezvous_key(None))
        # ... and nothing else is.
        stream = await outsider.open_stream(member.peer_id, PINGPONG)
        await stream.write(b"hi")
        with pytest.raises(MeshError):
            await stream.read_exactly(2)


async def test_outsiders_beyond_the_limit_are_disconnected() -> None:
    secret = jointoken.new_token([]).secret
    async with AsyncExitStack() as stack:
        member = await stack.enter_async_context(dht_host(secret))
        for _ in range(MAX_OUTSIDERS):
            outsider = await stack.enter_async_context(dht_host())
            await outsider.dial(address(member))
        await eventually(lambda: len(member.outsiders()) == MAX_OUTSIDERS, "all outsiders kept")
        one_more = await stack.enter_async_context(dht_host())
        await one_more.dial(address(member))
        await eventually(lambda: not member.is_connected(one_more.peer_id), "one more is closed")
        assert len(member.outsiders()) == MAX_OUTSIDERS


def test_the_names_a_network_meets_under_are_hashes_of_its_secret() -> None:
    first, second = (jointoken.new_token([]).secret for _ in range(2))
    assert rendezvous_key(first) != rendezvous_key(second) != rendezvous_key(None)
    assert lan_service_type(first) != lan_service_type(second) != lan_service_type(None)
    assert first.hex() not in rendezvous_key(first) + lan_service_type(first)
    assert len(bytes.fromhex(rendezvous_key(first))) == 32
    assert len(lan_service_type(first).split(".")[0]) <= 16  # "_" + 15 characters
