"""Circuit relay v2 (libp2p's ``/libp2p/circuit/relay/0.2.0/{hop,stop}``), wire-compatible
with go-libp2p and js-libp2p: py-libp2p's protobuf messages and its connection upgrade,
our own hop service, stop handler and dial.

Defects of py-libp2p 0.8.1's ``CircuitV2Protocol`` and ``CircuitV2Transport`` that
this replaces rather than patches:

- its relay limits are one global setting for everyone (an hour and 1 GB a circuit:
  every public node an open relay); here each circuit gets the limits of who uses it
  (``RelayLimits``: members of the same private network, or strangers);
- it keys active circuits by peer, so the end of one circuit closes the streams of
  another one to the same peer; here each circuit owns its two streams;
- ``Swarm.dial_peer`` drops ``/p2p-circuit`` addresses, and the transport needs a
  discovery service and a background refresher to dial one; ``dial_circuit`` dials one
  address through a relay we are connected to, and ``reserve`` asks one relay for a slot.

Relay traffic passes the membership gate by design: a relay serves non-members too
(with stranger limits), and what it carries is Noise ciphertext between the two ends.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import trio
from libp2p.abc import IHost, INetConn, INetStream
from libp2p.connection_types import ConnectionType
from libp2p.custom_types import TProtocol
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.peer.id import ID
from libp2p.relay.circuit_v2.pb.circuit_pb2 import HopMessage, Limit, StopMessage
from libp2p.relay.circuit_v2.pb.circuit_pb2 import PeerId as WirePeer
from libp2p.relay.circuit_v2.protocol_buffer import StatusCode, to_proto_status
from libp2p.relay.circuit_v2.utils import read_delimited_msg, write_delimited_msg
from multiaddr import Multiaddr

from computemesh.errors import DialError, MeshError
from computemesh.p2p.dial_guard import existing_connections_only
from computemesh.p2p.patch_registry import Target, declare

log = logging.getLogger(__name__)

HOP = TProtocol("/libp2p/circuit/relay/0.2.0/hop")
STOP = TProtocol("/libp2p/circuit/relay/0.2.0/stop")
HANDSHAKE_TIMEOUT_S = 10.0
PIPE_READ = 65536


@dataclass(frozen=True)
class CircuitLimits:
    """What one circuit may carry: seconds and bytes (both directions), 0 = no limit."""

    duration_s: int
    data_bytes: int


@dataclass(frozen=True)
class RelayLimits:
    member: CircuitLimits
    stranger: CircuitLimits
    max_reservations: int
    circuits_per_peer: int
    reservation_ttl_s: int


@dataclass(frozen=True)
class Reservation:
    relay: ID
    expires_at: float  # unix time


Members = Callable[[ID, ID], bool]  # both ends are members of this node's private network


def circuit_addr(relay_addr: Multiaddr, relay: ID) -> Multiaddr:
    """``<relay addr>/p2p/<relay>/p2p-circuit``: where a peer reserved at ``relay`` is."""
    return Multiaddr(f"{relay_addr}/p2p/{relay.to_base58()}/p2p-circuit")


def split_circuit(addr: Multiaddr) -> tuple[Multiaddr, ID] | None:
    """``(relay's transport address, relay)`` of a circuit address; None for others."""
    text = str(addr)
    if "/p2p-circuit" not in text:
        return None
    head = text.split("/p2p-circuit", 1)[0]
    if "/p2p/" not in head:
        return None
    transport, relay = head.rsplit("/p2p/", 1)
    try:
        return Multiaddr(transport), ID.from_base58(relay)
    except Exception:
        return None


# The swarm's upgrade steps a circuit's stream goes through (checked at start).
UPGRADES = ("upgrade_inbound_raw_conn", "upgrade_outbound_raw_conn")

# Relayed connections are upgraded by the swarm's own Noise and Yamux steps; the dial
# falls back to ``Swarm.dial_addr`` for each address after the first (``MeshHost._connect``).
CIRCUIT_PATCH = declare(
    "circuit",
    Target(
        "libp2p.network.swarm",
        "Swarm.upgrade_inbound_raw_conn",
        "e24c4285f494767af5707012ad36680c5c34fca838697d0bd955446d2b8670e8",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.upgrade_outbound_raw_conn",
        "54a8867681b2f4f0c83be460e60badfe2e60dc766b40f3efe1747d2af68c062d",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.dial_addr",
        "d8224e38e702f0633b56fb63c6e59cfa8341a7b426d9a33d9f0facb8df2e857e",
    ),
)


def check_targets(host: IHost) -> None:
    """Refuse to start on a py-libp2p whose swarm cannot upgrade a relayed stream."""
    network = host.get_network()
    if not all(callable(getattr(network, name, None)) for name in UPGRADES):
        raise MeshError(
            f"py-libp2p's Swarm changed ({', '.join(UPGRADES)}): relayed connections"
            " were written against libp2p==0.8.1"
        )


class RelayService:
    """The hop side: reservations and circuits, each under the limits of its users."""

    def __init__(
        self, host: IHost, limits: RelayLimits, members: Members, serving: Callable[[], bool]
    ) -> None:
        self._host = host
        self._limits = limits
        self._members = members
        self._serving = serving
        self._reservations: dict[ID, float] = {}
        self._circuits: Counter[ID] = Counter()  # destination -> circuits open to it
        self.counts: Counter[str] = Counter()

    def reservations(self) -> int:
        self._expire()
        return len(self._reservations)

    def open_circuits(self) -> int:
        return sum(self._circuits.values())

    async def handle(self, stream: INetStream) -> None:
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S) as waiting:
            message = await read_delimited_msg(stream, HopMessage)
        if waiting.cancelled_caught:
            return
        if not self._serving() or _is_relayed(stream):
            await _hop_status(stream, StatusCode.PERMISSION_DENIED)
        elif message.type == HopMessage.RESERVE:
            await self._reserve(stream)
        elif message.type == HopMessage.CONNECT:
            await self._connect(stream, ID(message.peer.id))
        else:
            await _hop_status(stream, StatusCode.UNEXPECTED_MESSAGE)

    def _expire(self) -> None:
        now = time.time()
        self._reservations = {p: t for p, t in self._reservations.items() if t > now}

    async def _reserve(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        self._expire()
        if (
            peer not in self._reservations
            and len(self._reservations) >= self._limits.max_reservations
        ):
            self.counts["reservations refused"] += 1
            await _hop_status(stream, StatusCode.RESERVATION_REFUSED)
            return
        expires = int(time.time()) + self._limits.reservation_ttl_s
        self._reservations[peer] = expires
        self.counts["reservations"] += 1
        limits = self._limits.stranger  # who will use the slot is not known yet
        answer = HopMessage(type=HopMessage.STATUS, status=to_proto_status(StatusCode.OK))
        answer.reservation.expire = expires
        answer.limit.CopyFrom(Limit(duration=limits.duration_s, data=limits.data_bytes))
        await write_delimited_msg(stream, answer)

    async def _connect(self, stream: INetStream, destination: ID) -> None:
        source = stream.muxed_conn.peer_id
        self._expire()
        if destination not in self._reservations:
            await _hop_status(stream, StatusCode.NO_RESERVATION)
            return
        if self._circuits[destination] >= self._limits.circuits_per_peer:
            await _hop_status(stream, StatusCode.RESOURCE_LIMIT_EXCEEDED)
            return
        limits = (
            self._limits.member if self._members(source, destination) else self._limits.stranger
        )
        self._circuits[destination] += 1
        try:
            far = await self._open_stop(source, destination, limits)
            if far is None:
                await _hop_status(stream, StatusCode.CONNECTION_FAILED)
                return
            await _hop_status(stream, StatusCode.OK, limits)
            self.counts["circuits"] += 1
            await _pipe_both(stream, far, limits)
        finally:
            self._circuits[destination] -= 1
            if self._circuits[destination] <= 0:
                del self._circuits[destination]

    async def _open_stop(
        self, source: ID, destination: ID, limits: CircuitLimits
    ) -> INetStream | None:
        try:
            # Over the destination's own connection to us, or not at all: behind NAT,
            # a dial to it would only wait out its timeout.
            with trio.fail_after(HANDSHAKE_TIMEOUT_S), existing_connections_only():
                far = await self._host.new_stream(destination, [STOP])
                connect = StopMessage(type=StopMessage.CONNECT, peer=WirePeer(id=source.to_bytes()))
                connect.limit.CopyFrom(Limit(duration=limits.duration_s, data=limits.data_bytes))
                await write_delimited_msg(far, connect)
                answer = await read_delimited_msg(far, StopMessage)
        except Exception as error:
            log.debug("relay: cannot reach %s for %s: %s", destination, source, error)
            return None
        if int(answer.status) != StatusCode.OK:
            await far.reset()
            return None
        return far


async def _pipe_both(near: INetStream, far: INetStream, limits: CircuitLimits) -> None:
    """Copy bytes both ways until both ends finish, or the circuit's limits end it."""
    budget = [limits.data_bytes or -1]
    with trio.move_on_after(limits.duration_s or float("inf")):
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pipe, near, far, budget)
                nursery.start_soon(_pipe, far, near, budget)
        except Exception as error:
            log.debug("relay circuit ended: %r", error)
    for stream in (near, far):
        await _quietly_reset(stream)


async def _pipe(source: INetStream, sink: INetStream, budget: list[int]) -> None:
    while True:
        try:
            data = await source.read(PIPE_READ)
        except Exception:
            data = b""
        if not data:
            await sink.close()  # half-close: the other direction may still carry bytes
            return
        if budget[0] >= 0:
            budget[0] -= len(data)
            if budget[0] < 0:
                raise DialError("relay circuit over its data limit")
        await sink.write(data)


async def _quietly_reset(stream: INetStream) -> None:
    try:
        await stream.reset()
    except Exception:
        return


async def _hop_status(
    stream: INetStream, code: StatusCode, limits: CircuitLimits | None = None
) -> None:
    answer = HopMessage(type=HopMessage.STATUS, status=to_proto_status(code))
    if limits is not None:
        answer.limit.CopyFrom(Limit(duration=limits.duration_s, data=limits.data_bytes))
    await write_delimited_msg(stream, answer)


def _is_relayed(stream: INetStream) -> bool:
    """Spec: no reservation or circuit over a connection that is itself relayed."""
    conn = getattr(stream.muxed_conn, "get_connection_type", None)
    return conn is not None and conn() == ConnectionType.RELAYED


# -- the two ends -----------------------------------------------------------------


async def accept_stop(host: IHost, stream: INetStream) -> None:
    """The destination's side: a relay hands us a circuit from a peer; it becomes one of
    our connections (Noise and yamux over the relayed stream), for as long as it lasts."""
    with trio.move_on_after(HANDSHAKE_TIMEOUT_S) as waiting:
        message = await read_delimited_msg(stream, StopMessage)
    if waiting.cancelled_caught or message.type != StopMessage.CONNECT:
        return
    relay, source = stream.muxed_conn.peer_id, ID(message.peer.id)
    answer = StopMessage(type=StopMessage.STATUS, status=to_proto_status(StatusCode.OK))
    await write_delimited_msg(stream, answer)
    address = Multiaddr(f"/p2p/{relay.to_base58()}/p2p-circuit/p2p/{source.to_base58()}")
    raw = RawConnection(stream, False, ConnectionType.RELAYED, [address])
    network: object = host.get_network()
    muxed = await network.upgrade_inbound_raw_conn(raw, address)  # type: ignore[attr-defined]
    await muxed.event_closed.wait()  # the stream is the connection: keep it until it ends


async def dial_circuit(host: IHost, relay: ID, destination: ID) -> INetConn:
    """A connection to ``destination`` through ``relay`` (already connected)."""
    try:
        with trio.fail_after(HANDSHAKE_TIMEOUT_S):
            stream = await host.new_stream(relay, [HOP])
            connect = HopMessage(type=HopMessage.CONNECT, peer=WirePeer(id=destination.to_bytes()))
            await write_delimited_msg(stream, connect)
            answer = await read_delimited_msg(stream, HopMessage)
    except Exception as error:
        raise DialError(f"relay {relay.to_base58()} did not connect us: {error!r}") from error
    if int(answer.status) != StatusCode.OK:
        await _quietly_reset(stream)
        raise DialError(
            f"relay {relay.to_base58()} refused a circuit to {destination.to_base58()}:"
            f" {StatusCode(answer.status).name}"
        )
    address = Multiaddr(f"/p2p/{relay.to_base58()}/p2p-circuit/p2p/{destination.to_base58()}")
    raw = RawConnection(stream, True, ConnectionType.RELAYED, [address])
    network: object = host.get_network()
    conn: INetConn = await network.upgrade_outbound_raw_conn(raw, destination)  # type: ignore[attr-defined]
    return conn


async def reserve(host: IHost, relay: ID) -> Reservation:
    """Ask ``relay`` (already connected) for a slot; raises ``DialError`` if refused."""
    try:
        with trio.fail_after(HANDSHAKE_TIMEOUT_S):
            stream = await host.new_stream(relay, [HOP])
            await write_delimited_msg(stream, HopMessage(type=HopMessage.RESERVE))
            answer = await read_delimited_msg(stream, HopMessage)
            await stream.close()
    except Exception as error:
        raise DialError(f"no reservation at {relay.to_base58()}: {error!r}") from error
    if int(answer.status) != StatusCode.OK:
        raise DialError(
            f"relay {relay.to_base58()} refused a reservation: {StatusCode(answer.status).name}"
        )
    return Reservation(relay, float(answer.reservation.expire))
