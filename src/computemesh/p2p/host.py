"""MeshHost: the narrow facade over a py-libp2p host that the rest of computemesh uses.

TCP + Noise + Yamux, identify, ping with per-peer latency, gated gossipsub, guarded
protocol handlers, connection events, dials only to plausible addresses at a bounded
rate, forgetting peers that are gone, the shared DHT (``dht``), and a shutdown that
really closes connections. Across NATs: whether others can dial this node
(``reachability``), slots at relays while they cannot (``autorelay``), a relay service
for others (``circuit``), and dials that fall back to a peer's relayed addresses when its
direct ones fail.
"""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import psutil
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.custom_types import TProtocol
from libp2p.host.ping import ID as PING_PROTOCOL
from libp2p.host.ping import perform_ping_roundtrip
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr

from computemesh.errors import DialError, InvalidAddress, MeshError
from computemesh.ids import PeerId
from computemesh.p2p import circuit, listen_ports, patch_registry, workarounds
from computemesh.p2p.autorelay import AutoRelay
from computemesh.p2p.dht import MeshDHT
from computemesh.p2p.dial_guard import DialGuard, existing_connections_only
from computemesh.p2p.dial_pacing import DialPacer
from computemesh.p2p.holepunch import HolePuncher
from computemesh.p2p.identity import NodeIdentity
from computemesh.p2p.membership import PROTOCOL as MEMBERSHIP_PROTOCOL
from computemesh.p2p.membership import MembershipGate
from computemesh.p2p.plausible import AddressPolicy, ip_of
from computemesh.p2p.pubsub import (
    GatedPubsub,
    OnMessage,
    Validate,
    drain,
    member_validator,
    new_router,
)
from computemesh.p2p.reachability import PROTOCOL as DIALBACK_PROTOCOL
from computemesh.p2p.reachability import DialBack, Reachability, is_direct
from computemesh.p2p.stream import MeshStream
from computemesh.supervise import supervise

log = logging.getLogger(__name__)

StreamHandler = Callable[[MeshStream], Awaitable[None]]
ConnectionListener = Callable[[PeerId, bool], None]
DIAL_TIMEOUT_S = 10.0
DIRECT_ADDR_TIMEOUT_S = 4.0
RELAY_HEAD_START_S = 0.25
ADDRESS_TTL_S = 600
IDENTIFY_WAIT_S = 5.0


class MeshHost:
    """A running libp2p host; build it with ``open_mesh_host``."""

    def __init__(
        self,
        host: IHost,
        pubsub: GatedPubsub,
        gate: MembershipGate,
        addresses: AddressPolicy,
        dial_guard: DialGuard,
        *,
        max_peers: int,
        forget_after: float,
        patches: list[patch_registry.Checked],
    ) -> None:
        self._host = host
        self._pubsub = pubsub
        self._gate = gate
        self._addresses = addresses
        self._max_peers = max_peers
        self._forget_after = forget_after
        # peer -> when it was last seen connected (or first seen not connected)
        self._idle_since: dict[ID, float] = {}
        self._listeners: list[ConnectionListener] = []
        self._nursery: trio.Nursery | None = None
        self._dial_guard = dial_guard
        self._patches = patches
        self._address_listeners: list[Callable[[], None]] = []
        self._dialing: dict[ID, trio.Lock] = {}
        self.dialback = DialBack(host, self._reachability_changed)
        self.autorelay = AutoRelay(host, lambda: self.dialback.status, self._addresses_changed)
        self.relay: circuit.RelayService | None = None
        self.holepunch = HolePuncher(host)
        self.peer_id = PeerId(host.get_id().to_base58())
        self.dht: MeshDHT | None = None

    # -- addresses and peers -------------------------------------------------

    def listen_addrs(self) -> list[str]:
        """Where this host listens, wildcards expanded to this machine's addresses."""
        addrs: list[str] = []
        for maddr in self._host.get_transport_addrs():
            text = str(maddr)
            if text.startswith("/ip4/0.0.0.0/"):
                addrs.extend(text.replace("0.0.0.0", ip, 1) for ip in _local_ipv4())
            else:
                addrs.append(text)
        return addrs

    def advertised_addrs(self) -> list[str]:
        """What this node's signed record offers, best first: addresses peers dialed it
        back at (public or observed), then public, then LAN ones, loopback only if it has
        nothing else; while peers cannot dial it, its public ones are left out and its
        relayed addresses (``…/p2p/<relay>/p2p-circuit``) follow."""
        reached = [a for a in self.dialback.reached if a not in self.listen_addrs()]
        listen = sorted(self.listen_addrs(), key=_address_rank)
        # Loopback only when there is nothing else (tests, the demo): a peer on this
        # machine can use any other address of it, and no peer elsewhere can use loopback.
        listen = [a for a in listen if _address_rank(a) < 2] or listen
        if self.dialback.status is not Reachability.PRIVATE:
            return [*reached, *listen]
        local = [a for a in listen if _address_rank(a) == 1]
        return [*local, *self.autorelay.circuit_addrs()]

    def reachability(self) -> str:
        """``public``, ``private`` (behind NAT or a firewall) or ``unknown``."""
        return self.dialback.status.value

    def on_addresses_changed(self, listener: Callable[[], None]) -> None:
        self._address_listeners.append(listener)

    def _reachability_changed(self) -> None:
        self.autorelay.poke()  # behind NAT now: reserve at once, not at the next tick
        self._addresses_changed()

    def _addresses_changed(self) -> None:
        for listener in self._address_listeners:
            try:
                listener()
            except Exception:
                log.exception("address listener failed")

    def connection_kind(self, peer: PeerId) -> str | None:
        """``direct`` when a direct connection to ``peer`` is open, ``relayed`` when only
        relayed ones are, None when none is."""
        conns = self._host.get_network().get_connections(ID.from_base58(peer))
        if not conns:
            return None
        return "direct" if any(is_direct(conn) for conn in conns) else "relayed"

    def connected_peers(self) -> list[PeerId]:
        """Peers of this mesh we are connected to (outsiders, on the DHT only, are not)."""
        connected = (PeerId(peer.to_base58()) for peer in self._host.get_connected_peers())
        return [peer for peer in connected if not self._gate.is_outsider(peer)]

    def outsiders(self) -> list[PeerId]:
        """Connected peers of other networks, which only use the shared DHT with us."""
        connected = (PeerId(peer.to_base58()) for peer in self._host.get_connected_peers())
        return [peer for peer in connected if self._gate.is_outsider(peer)]

    def is_connected(self, peer: PeerId) -> bool:
        return bool(self._host.get_network().get_connections(ID.from_base58(peer)))

    def known_peers(self) -> list[PeerId]:
        own = self._host.get_id()
        return [PeerId(p.to_base58()) for p in self._host.get_peerstore().peer_ids() if p != own]

    def peer_addrs(self, peer: PeerId) -> list[str]:
        """Where ``peer`` is known to be: its addresses, and the circuit of each relayed
        connection to it (``/p2p/<relay>/p2p-circuit``, as go-libp2p lists them)."""
        peer_id = ID.from_base58(peer)
        try:
            known = [str(a) for a in self._host.get_peerstore().addrs(peer_id)]
        except Exception:
            known = []
        for conn in self._host.get_network().get_connections(peer_id):
            if not is_direct(conn):
                for addr in conn.get_transport_addresses():
                    relayed = str(addr).rsplit("/p2p/", 1)[0]
                    known += [relayed] if relayed not in known else []
        return known

    def is_member(self, peer: PeerId) -> bool:
        return self._gate.is_member(peer)

    def refused_at(self, peer: PeerId) -> float | None:
        """When ``peer`` last failed the membership challenge (another network), if it did."""
        return self._gate.refused.get(peer)

    def membership_failures(self) -> int:
        """Peers that failed the network's membership challenge, since the start."""
        return self._gate.failed

    # -- introspection (AICN's /id, /swarm/peers, /pubsub/peers) --------------

    def protocols(self) -> list[str]:
        """Protocol ids this host answers, as identify announces them."""
        return sorted(str(p) for p in self._host.get_mux().get_protocols() if p)

    def connections(self) -> list[tuple[PeerId, str, str, bool]]:
        """``(peer, remote address, "Inbound"/"Outbound", relayed)`` for each open
        connection; a relayed one's address is ``/p2p/<relay>/p2p-circuit/p2p/<peer>``."""
        found = []
        for peer_id, conns in self._host.get_network().get_connections_map().items():
            for conn in conns:
                addrs = conn.get_transport_addresses()
                direction = str(getattr(conn, "direction", "unknown")).rsplit(".", 1)[-1]
                found.append(
                    (
                        PeerId(peer_id.to_base58()),
                        str(addrs[0]) if addrs else "",
                        direction.title(),
                        not is_direct(conn),
                    )
                )
        return found

    def topic_peers(self, topic: str) -> list[PeerId]:
        """Peers known to subscribe to ``topic``."""
        return sorted(PeerId(p.to_base58()) for p in self._pubsub.peer_topics.get(topic, ()))

    def pubsub_peers(self) -> list[PeerId]:
        """Peers we hold an outbound pubsub stream to (what our own publishes reach)."""
        return sorted(PeerId(p.to_base58()) for p in self._pubsub.peers)

    async def wait_member(self, peer: PeerId) -> bool:
        return await self._gate.wait_member(peer)

    async def _dialback_stream(self, peer: ID) -> MeshStream:
        with existing_connections_only():
            return await self.open_stream(PeerId(peer.to_base58()), DIALBACK_PROTOCOL)

    # -- dialing ---------------------------------------------------------------

    async def dial(self, addr: str) -> PeerId:
        """Connect to a full multiaddr ending in ``/p2p/<peer id>`` that the operator gave
        (a static bootstrap, ``/swarm/connect``): it is dialed as it is."""
        info = _peer_info(addr)
        self._addresses.trust(info.peer_id, info.addrs)
        await self._connect(info.peer_id, info.addrs)
        return PeerId(info.peer_id.to_base58())

    async def dial_learned(self, addr: str) -> PeerId:
        """Connect to a full multiaddr learned from elsewhere (a bootstrap source), only
        if it is a plausible address of its peer."""
        info = _peer_info(addr)
        await self._connect(info.peer_id, info.addrs)
        return PeerId(info.peer_id.to_base58())

    async def dial_peer(self, peer: PeerId, addrs: list[str]) -> None:
        """Connect to ``peer`` at those of ``addrs`` (bare multiaddrs, as its record
        claims them) that are plausible, or at what is already known of it."""
        await self._connect(ID.from_base58(peer), [Multiaddr(a) for a in addrs])

    async def _connect(self, peer_id: ID, addrs: list[Multiaddr]) -> None:
        """Direct addresses first, and relayed ones shortly after (``_race``).

        Defect: ``Swarm.dial_peer`` drops ``/p2p-circuit`` addresses and tries one
        address per transport; the other direct addresses are tried here one by one
        after it, and the circuits through each relay the peer named beside them.
        """
        if peer_id == self._host.get_id():
            raise DialError("refusing to dial this node itself")
        circuits = [c for c in (circuit.split_circuit(a) for a in addrs) if c is not None]
        # Relays we are connected to first: a relay that died is still named in records
        # for a while, and dialing it first would cost the time until it fails.
        network = self._host.get_network()
        circuits.sort(key=lambda c: not network.get_connections(c[1]))
        direct = [a for a in addrs if circuit.split_circuit(a) is None]
        # Implausible ones are not even stored: they would show as the peer's addresses.
        plausible = [a for a in direct if self._dial_guard.allows(peer_id, a)]
        self._host.get_peerstore().add_addrs(peer_id, plausible, ADDRESS_TTL_S)
        lock = self._dialing.setdefault(peer_id, trio.Lock())
        async with lock:
            try:
                if self._host.get_network().get_connections(peer_id):
                    return
                errors: list[str] = []
                if await self._race(peer_id, plausible, circuits, errors):
                    return
            finally:
                if not lock.statistics().tasks_waiting:
                    self._dialing.pop(peer_id, None)
        workarounds.forget_peer(self._host, peer_id)
        raise DialError(f"cannot reach {peer_id.to_base58()}: {'; '.join(errors) or 'no address'}")

    async def _race(
        self,
        peer_id: ID,
        direct: list[Multiaddr],
        circuits: list[tuple[Multiaddr, ID]],
        errors: list[str],
    ) -> bool:
        """Direct addresses first; the relays join after ``RELAY_HEAD_START_S``, so an
        address that swallows packets (a NAT's, a hole not punched) costs no more."""
        won = False

        async def direct_way(done: trio.CancelScope) -> None:
            nonlocal won
            if await self._connect_direct(peer_id, direct, errors):
                won = True
                done.cancel()

        async def relayed_way(done: trio.CancelScope) -> None:
            nonlocal won
            await trio.sleep(RELAY_HEAD_START_S)
            for relay_addr, relay in circuits:
                if await self._connect_relayed(peer_id, relay, relay_addr, errors):
                    won = True
                    done.cancel()
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(direct_way, nursery.cancel_scope)
            if circuits:
                nursery.start_soon(relayed_way, nursery.cancel_scope)
        return won

    async def _connect_direct(self, peer_id: ID, addrs: list[Multiaddr], errors: list[str]) -> bool:
        network: Any = self._host.get_network()
        try:
            known = self._host.get_peerstore().addrs(peer_id)
        except Exception:
            known = []
        if not known:
            return False
        workarounds.allow_redial(self._host, peer_id)
        try:
            with trio.fail_after(DIAL_TIMEOUT_S):
                await network.dial_peer(peer_id)
            return True
        except Exception as error:
            errors.append(str(error))
        for addr in addrs[1:]:  # dial_peer tried (at most) the first of each transport
            try:
                with trio.fail_after(DIRECT_ADDR_TIMEOUT_S):
                    await network.dial_addr(addr, peer_id)
                return True
            except Exception as error:
                errors.append(f"{addr}: {error}")
        return False

    async def _connect_relayed(
        self, peer_id: ID, relay: ID, relay_addr: Multiaddr, errors: list[str]
    ) -> bool:
        if relay in (peer_id, self._host.get_id()):
            return False
        try:
            with trio.fail_after(DIAL_TIMEOUT_S):
                if not self._host.get_network().get_connections(relay):
                    await self._connect(relay, [relay_addr])
                await circuit.dial_circuit(self._host, relay, peer_id)
            return True
        except (Exception, trio.TooSlowError) as error:
            errors.append(f"via {relay.to_base58()}: {error}")
            return False

    def dial_counts(self) -> dict[str, int]:
        """Connection attempts made and implausible addresses refused, since start."""
        counts = self._dial_guard.counts
        return {"attempts": counts["attempts"], "refused": counts["refused"]}

    def patches(self) -> list[dict[str, str]]:
        """Our patches to py-libp2p in force: each one's name, target and whether that
        target is still the code it was written against (``patch_registry``)."""
        return [
            {"name": c.patch, "target": c.target.name, "status": c.status.value}
            for c in self._patches
        ]

    async def disconnect(self, peer: PeerId) -> None:
        await workarounds.close_peer(self._host, ID.from_base58(peer))

    def forget(self, peer: PeerId) -> None:
        """Drop a dead peer from the peerstore so nothing redials it."""
        self._forget(ID.from_base58(peer))

    def prune_peers(self, keep: set[PeerId]) -> list[PeerId]:
        """Forget every peer that is gone: neither connected, nor in ``keep`` (the live
        table), nor a bootstrap the operator gave, for ``forget_after`` seconds.

        py-libp2p keeps the addresses, keys, protocols and metadata of every peer it
        ever met, and our side tables keep what they saw of it; this is what bounds
        them all under churn. Returns the peers forgotten.
        """
        now = time.monotonic()
        network = self._host.get_network()
        kept = {ID.from_base58(p) for p in keep} | self._addresses.trusted_peers()
        kept.add(self._host.get_id())
        gone: list[PeerId] = []
        for peer_id in self._host.get_peerstore().peer_ids():
            if peer_id in kept or network.get_connections(peer_id):
                self._idle_since.pop(peer_id, None)
            elif now - self._idle_since.setdefault(peer_id, now) >= self._forget_after:
                self._forget(peer_id)
                gone.append(PeerId(peer_id.to_base58()))
        present = kept | set(self._host.get_peerstore().peer_ids())
        present |= set(network.get_connections_map())
        self._idle_since = {p: t for p, t in self._idle_since.items() if p in present}
        self._addresses.retain(present)
        return gone

    def _forget(self, peer_id: ID) -> None:
        workarounds.forget_peer(self._host, peer_id)
        self._addresses.forget(peer_id)
        self._idle_since.pop(peer_id, None)

    async def ping(self, peer: PeerId) -> float:
        """One round trip on ``/ipfs/ping/1.0.0``, in milliseconds (sub-ms resolution)."""
        stream = await self._host.new_stream(ID.from_base58(peer), [PING_PROTOCOL])
        try:
            started = time.perf_counter()
            await perform_ping_roundtrip(stream)
            return (time.perf_counter() - started) * 1000.0
        finally:
            await stream.close()

    # -- streams ------------------------------------------------------------

    def set_handler(
        self, protocol: str, handler: StreamHandler, *, members_only: bool = True
    ) -> None:
        """Serve ``protocol``; the handler can raise without harming the host."""

        async def admit(raw: INetStream) -> None:
            stream = MeshStream(raw)
            if members_only and not await self._gate.wait_member(stream.remote_peer):
                await stream.reset()
                return
            await handler(stream)

        self._host.set_stream_handler(TProtocol(protocol), workarounds.guarded(admit, protocol))

    async def open_stream(self, peer: PeerId, protocol: str) -> MeshStream:
        try:
            raw = await self._host.new_stream(ID.from_base58(peer), [TProtocol(protocol)])
        except Exception as error:
            raise MeshError(f"cannot open {protocol} to {peer}: {error}") from error
        return MeshStream(raw)

    # -- pubsub -------------------------------------------------------------

    async def subscribe(self, topic: str, on_message: OnMessage, validate: Validate) -> None:
        """Deliver valid messages from members to ``on_message`` (never our own)."""
        assert self._nursery is not None
        self._pubsub.set_topic_validator(topic, member_validator(self._gate, validate), False)
        subscription = await self._pubsub.subscribe(topic)
        self._nursery.start_soon(drain, subscription, self.peer_id, on_message)

    async def publish(self, topic: str, data: bytes) -> None:
        await self._pubsub.publish(topic, data)

    # -- connection events ----------------------------------------------------

    def on_connection(self, listener: ConnectionListener) -> None:
        """``listener(peer, connected)`` on a peer's first connection and its last close."""
        self._listeners.append(listener)

    def _connected(self, peer: PeerId, conn: INetConn) -> None:
        assert self._nursery is not None
        peer_id = ID.from_base58(peer)
        self._idle_since.pop(peer_id, None)
        remote = _remote_host(conn) if is_direct(conn) else None  # a relayed one: the relay's
        if remote is not None:
            self._addresses.observe(peer_id, remote)
        if len(self.connected_peers()) > self._max_peers:
            log.info("over max_peers (%d); closing new connection to %s", self._max_peers, peer)
            self._nursery.start_soon(self.disconnect, peer)
            return
        self._nursery.start_soon(self._gate.challenge, peer, self.open_stream, self.disconnect)
        if self.dht is not None:
            self._nursery.start_soon(self._join_routing_table, peer, self.dht)
        self._notify(peer, True)

    async def _join_routing_table(self, peer: PeerId, dht: MeshDHT) -> None:
        # Members and outsiders alike: the DHT is shared. The routing table takes only a
        # peer whose addresses identify has told us (milliseconds after connecting).
        await self._gate.wait_member(peer)
        with trio.move_on_after(IDENTIFY_WAIT_S):
            # Polls what identify writes into the peerstore; it signals nothing.
            while self.is_connected(peer) and not self.peer_addrs(peer):  # noqa: ASYNC110
                await trio.sleep(0.05)
        if self.is_connected(peer) and self.peer_addrs(peer):
            await dht.add_peer(peer)

    def _disconnected(self, peer: PeerId, closed: INetConn) -> None:
        # The closing connection may still be listed while listeners are notified.
        remaining = self._host.get_network().get_connections(ID.from_base58(peer))
        if any(conn is not closed for conn in remaining):
            return
        self._gate.forget(peer)
        self.autorelay.poke()
        self._idle_since[ID.from_base58(peer)] = time.monotonic()
        workarounds.drop_disconnect_record(self._host, ID.from_base58(peer))
        self._notify(peer, False)

    def _notify(self, peer: PeerId, connected: bool) -> None:
        for listener in self._listeners:
            try:
                listener(peer, connected)
            except Exception:
                log.exception("connection listener failed")


class _Events(INotifee):
    """Turns swarm notifications into MeshHost connection events."""

    def __init__(self, mesh: MeshHost) -> None:
        self._mesh = mesh

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._mesh._connected(PeerId(conn.muxed_conn.peer_id.to_base58()), conn)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._mesh._disconnected(PeerId(conn.muxed_conn.peer_id.to_base58()), conn)

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: Multiaddr) -> None:
        return None


@asynccontextmanager
async def open_mesh_host(
    identity: NodeIdentity,
    listen: list[str],
    *,
    network_secret: bytes | None = None,
    max_peers: int = 64,
    forget_after: float = 60.0,
    dial_rate: float = 10.0,
    dial_burst: int = 40,
    allow_changed_libp2p: bool = False,
    dht: bool = False,
    relay_limits: circuit.RelayLimits | None = None,
) -> AsyncIterator[MeshHost]:
    """Start a host listening on ``listen``; on exit close every connection.

    Refuses (``MeshError``) a py-libp2p that our patches were not written against,
    unless ``allow_changed_libp2p``. ``forget_after``: seconds before a peer that is
    gone leaves the peerstore (``prune_peers``); ``dial_rate`` and ``dial_burst``:
    connection attempts a second, and at once (``DialPacer``); ``dht``: take part in
    the shared DHT (``mesh.dht``); ``relay_limits``: serve as a relay under these limits
    while peers can dial this node (None: no relay service).
    """
    patches = patch_registry.enforce(allow_changed_libp2p)
    workarounds.patch_module_constants()
    try:
        listen_addrs = [Multiaddr(addr) for addr in listen]
    except Exception as error:
        raise MeshError(f"invalid listen multiaddr in {listen}: {error}") from error
    listen_ports.check_free(listen)  # py-libp2p would share a port in use (SO_REUSEPORT)
    host = new_host(
        key_pair=identity.key_pair,
        sec_opt=workarounds.noise_only(identity.key_pair),
        muxer_preference="YAMUX",
        listen_addrs=listen_addrs,
    )
    workarounds.end_inbound_tasks(host)
    workarounds.disable_auto_connector(host)
    workarounds.contain_stream_errors(host)
    addresses = AddressPolicy(host.get_transport_addrs)
    guard = DialGuard(addresses.plausible, DialPacer(dial_rate, dial_burst))
    guard.install(host)
    gate = MembershipGate(PeerId(host.get_id().to_base58()), network_secret)
    router = new_router()
    pubsub = GatedPubsub(host, router, gate)
    workarounds.no_pubsub_redial(pubsub)
    mesh = MeshHost(
        host,
        pubsub,
        gate,
        addresses,
        guard,
        max_peers=max_peers,
        forget_after=forget_after,
        patches=patches,
    )
    host.get_network().register_notifee(_Events(mesh))
    mesh.set_handler(MEMBERSHIP_PROTOCOL, gate.respond, members_only=False)
    # Its handler is open to outsiders on purpose (membership.py); it registers itself.
    # It announces what the signed record offers (relayed addresses behind a NAT).
    mesh.dht = MeshDHT(host, mesh.advertised_addrs) if dht else None
    _serve_nat_traversal(host, mesh, gate, relay_limits)
    async with host.run(listen_addrs), trio.open_nursery() as nursery:
        mesh._nursery = nursery
        nursery.start_soon(
            supervise, "reachability", partial(mesh.dialback.run, mesh._dialback_stream)
        )
        nursery.start_soon(supervise, "relay reservations", mesh.autorelay.run)
        nursery.start_soon(supervise, "hole punching", mesh.holepunch.run)
        try:
            async with (
                background_trio_service(pubsub),
                background_trio_service(router),
                _running(mesh.dht),
            ):
                await pubsub.wait_until_ready()
                nursery.start_soon(pubsub.repair_streams)
                yield mesh
        finally:
            # Defect: leaving host.run() leaves connections open; close them first.
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await host.close()
            workarounds.stop_seen_cache(pubsub)
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def _running(dht: MeshDHT | None) -> AsyncIterator[None]:
    if dht is None:
        yield
        return
    async with dht.running():
        yield


def _serve_nat_traversal(
    host: IHost, mesh: MeshHost, gate: MembershipGate, limits: circuit.RelayLimits | None
) -> None:
    """Dial-back, relay and circuit ends: past the membership gate by design (a relay
    and a dial-back serve non-members too; neither hands out anything of the mesh)."""
    circuit.check_targets(host)
    mesh.set_handler(DIALBACK_PROTOCOL, mesh.dialback.serve, members_only=False)

    async def accept_stop(stream: INetStream) -> None:
        await circuit.accept_stop(host, stream)

    host.set_stream_handler(circuit.STOP, workarounds.guarded(accept_stop, str(circuit.STOP)))
    if limits is None:
        return

    def members(source: ID, destination: ID) -> bool:
        ends = (PeerId(source.to_base58()), PeerId(destination.to_base58()))
        return gate.private and all(gate.is_member(end) for end in ends)

    def serving() -> bool:
        return mesh.dialback.status is not Reachability.PRIVATE

    mesh.relay = circuit.RelayService(host, limits, members, serving)
    host.set_stream_handler(circuit.HOP, workarounds.guarded(mesh.relay.handle, str(circuit.HOP)))


def _address_rank(addr: str) -> int:
    """0 for a public IP, 1 for another non-loopback one, 2 for loopback."""
    try:
        ip = ip_of(Multiaddr(addr))
    except Exception:
        return 1
    if ip is None:
        return 1
    return 2 if ip.is_loopback else 0 if ip.is_global else 1


def check_dialable(addr: str) -> None:
    """Raise ``DialError`` unless ``addr`` is a multiaddr ending in ``/p2p/<peer id>``."""
    _peer_info(addr)


def _peer_info(addr: str) -> PeerInfo:
    try:
        return info_from_p2p_addr(Multiaddr(addr))
    except Exception as error:
        raise InvalidAddress(f"not a dialable multiaddr with /p2p/<peer id>: {addr!r}") from error


def _remote_host(conn: INetConn) -> str | None:
    """The IP at the peer's end of a connection, as the socket sees it."""
    muxed: Any = conn.muxed_conn  # yamux has it; the interface does not declare it
    try:
        remote = muxed.get_remote_address()
    except Exception:
        return None
    return str(remote[0]) if remote else None


def _local_ipv4() -> list[str]:
    found = {"127.0.0.1"}
    for addresses in psutil.net_if_addrs().values():
        found.update(a.address for a in addresses if a.family.name == "AF_INET")
    return sorted(found)
