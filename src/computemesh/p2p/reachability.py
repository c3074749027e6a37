"""Whether others can dial this node: a dial-back by the peers it is connected to.

Defect: py-libp2p 0.8.1's AutoNAT "dials back" over the connection that already exists
(so a node behind NAT is told it is reachable) and needs 4 confirmations. Here a peer
asked on ``/computemesh/dialback/1.0.0`` opens a *new* TCP connection to the asker's
listen ports at the IP it sees the asker's connection come from, and completes a Noise
handshake there, which proves the asker's own identity answered; then it says which
worked. The peer dials nowhere else (the observed IP only, at most ``MAX_PORTS`` ports,
one request per peer per ``SERVE_INTERVAL_S``), so it cannot be used to dial a third
party. One answer decides: any dial-back that worked means reachable; answers where
none worked mean not reachable. Only direct connections ask or answer.
"""

import enum
import json
import logging
import time
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import IHost, INetConn
from libp2p.connection_types import ConnectionType
from libp2p.peer.id import ID
from multiaddr import Multiaddr

from computemesh.errors import ComputemeshError
from computemesh.p2p.patch_registry import Target, declare
from computemesh.p2p.stream import MeshStream

log = logging.getLogger(__name__)

PROTOCOL = "/computemesh/dialback/1.0.0"
MAX_PORTS = 4
DIAL_TIMEOUT_S = 3.0  # a SYN and its first retransmission (1 s later), with room
ASK_TIMEOUT_S = 10.0
SERVE_INTERVAL_S = 5.0
UNKNOWN_RETRY_S = 1.0
RECHECK_S = 60.0
ASKED_AT_ONCE = 3
SERVED_AT_ONCE = 4  # more askers at once are turned away (they ask someone else)

OpenStream = Callable[[ID], Awaitable[MeshStream]]


# The filter matches the ERROR that ``Swarm.upgrade_inbound_raw_conn`` logs by its text.
MUX_ERROR_FILTER_PATCH = declare(
    "dialback_log_filter",
    Target(
        "libp2p.network.swarm",
        "Swarm.upgrade_inbound_raw_conn",
        "e24c4285f494767af5707012ad36680c5c34fca838697d0bd955446d2b8670e8",
    ),
)


class _DialBacksExpected(logging.Filter):
    """A dial-back ends after the Noise handshake, so the swarm of the node dialed back
    logs "fail to upgrade mux" at ERROR for the peer it asked: expected, not an error."""

    MESSAGE = "fail to upgrade mux for peer %s"
    WINDOW_S = ASK_TIMEOUT_S + DIAL_TIMEOUT_S

    def __init__(self) -> None:
        super().__init__()
        self.asked: dict[str, float] = {}  # peer id -> when we asked it

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != self.MESSAGE or not record.args:
            return True
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        asked_at = self.asked.get(str(args[0]))
        return asked_at is None or time.monotonic() - asked_at > self.WINDOW_S

    def expect(self, peer: ID) -> None:
        now = time.monotonic()
        self.asked = {p: t for p, t in self.asked.items() if now - t <= self.WINDOW_S}
        self.asked[str(peer)] = now


_EXPECTED = _DialBacksExpected()
logging.getLogger("libp2p.network.swarm").addFilter(_EXPECTED)


class Reachability(enum.Enum):
    UNKNOWN = "unknown"
    PUBLIC = "public"  # peers dialed this node back
    PRIVATE = "private"  # peers tried and could not (NAT, firewall)


def is_direct(conn: INetConn) -> bool:
    try:
        return conn.get_connection_type() != ConnectionType.RELAYED
    except Exception:
        return True


def _remote_ip(conn: object) -> str | None:
    try:
        remote = conn.get_remote_address()  # type: ignore[attr-defined]
    except Exception:
        return None
    return str(remote[0]) if remote else None


class DialBack:
    """Both sides of the dial-back: ``serve`` answers peers, ``run`` keeps ``status``."""

    def __init__(self, host: IHost, on_change: Callable[[], None]) -> None:
        self._host = host
        self._on_change = on_change
        self._served: dict[ID, float] = {}
        self._serving = trio.Semaphore(SERVED_AT_ONCE)
        self.status = Reachability.UNKNOWN
        self.reached: list[str] = []  # addresses peers last dialed us back at

    # -- answering ---------------------------------------------------------------

    async def serve(self, stream: MeshStream) -> None:
        peer = ID.from_base58(stream.remote_peer)
        conn: object = stream._stream.muxed_conn
        ip = _remote_ip(conn)
        now = time.monotonic()
        recent = now - self._served.get(peer, -SERVE_INTERVAL_S) < SERVE_INTERVAL_S
        if ip is None or recent or self._serving.value == 0:
            await stream.reset()
            return
        self._served = {p: t for p, t in self._served.items() if now - t < SERVE_INTERVAL_S}
        self._served[peer] = now
        try:
            with trio.fail_after(ASK_TIMEOUT_S):
                asked = json.loads(await stream.read_frame())
        except (ComputemeshError, TimeoutError, ValueError):
            return
        ports = [int(p) for p in asked.get("ports", []) if isinstance(p, int) and 0 < p < 65536]
        reached: list[str] = []
        async with self._serving:
            for port in ports[:MAX_PORTS]:
                family = "ip6" if ":" in ip else "ip4"
                addr = Multiaddr(f"/{family}/{ip}/tcp/{port}")
                if await self._dial_back(addr, peer):
                    reached.append(str(addr))
        await stream.write_frame(json.dumps({"reached": reached}).encode())

    async def _dial_back(self, addr: Multiaddr, peer: ID) -> bool:
        """A fresh connection and a Noise handshake with ``peer`` at ``addr``, then closed."""
        network: object = self._host.get_network()
        transport = network.transport_manager.transport_for_dialing(addr)  # type: ignore[attr-defined]
        if transport is None:
            return False
        try:
            with trio.fail_after(DIAL_TIMEOUT_S):
                raw = await transport.dial(Multiaddr(f"{addr}/p2p/{peer.to_base58()}"))
                try:
                    secured = await network.upgrader.upgrade_security(raw, True, peer)  # type: ignore[attr-defined]
                    await secured.close()
                finally:
                    await raw.close()
        except Exception as error:
            log.debug("dial-back to %s at %s failed: %r", peer, addr, error)
            return False
        return True

    # -- asking ------------------------------------------------------------------

    async def ask(self, peer: ID, open_stream: OpenStream) -> list[str] | None:
        """Where the peer could dial us back ([] nowhere); None: no answer."""
        ports = sorted({int(a.value_for_protocol("tcp")) for a in self._tcp_listen_addrs()})
        if not ports:
            return None
        _EXPECTED.expect(peer)
        try:
            with trio.fail_after(ASK_TIMEOUT_S):
                stream = await open_stream(peer)
                await stream.write_frame(json.dumps({"ports": ports}).encode())
                answer = json.loads(await stream.read_frame())
                await stream.close()
        except (ComputemeshError, TimeoutError, ValueError) as error:
            log.debug("dial-back by %s: no answer (%s)", peer, error)
            return None
        reached = answer.get("reached")
        return [str(a) for a in reached] if isinstance(reached, list) else None

    def _tcp_listen_addrs(self) -> list[Multiaddr]:
        found = []
        for addr in self._host.get_transport_addrs():
            try:
                addr.value_for_protocol("tcp")
            except Exception:
                continue
            found.append(addr)
        return found

    def _direct_peers(self) -> list[ID]:
        network = self._host.get_network()
        return [
            peer
            for peer, conns in network.get_connections_map().items()
            if any(is_direct(conn) for conn in conns)
        ]

    async def run(self, open_stream: OpenStream) -> None:
        """Ask a few directly connected peers, again and again; ``status`` follows."""
        while True:
            self._settle(await self._ask_some(open_stream))
            wait = UNKNOWN_RETRY_S if self.status is Reachability.UNKNOWN else RECHECK_S
            await trio.sleep(wait)

    async def _ask_some(self, open_stream: OpenStream) -> list[list[str] | None]:
        answers: list[list[str] | None] = []

        async def ask_one(peer: ID) -> None:
            answers.append(await self.ask(peer, open_stream))

        async with trio.open_nursery() as nursery:
            for peer in self._direct_peers()[:ASKED_AT_ONCE]:
                nursery.start_soon(ask_one, peer)
        return answers

    def _settle(self, answers: list[list[str] | None]) -> None:
        reached = sorted({a for answer in answers if answer for a in answer})
        if reached:
            found = Reachability.PUBLIC
        elif any(answer is not None for answer in answers):
            found = Reachability.PRIVATE
        else:
            return  # nobody answered: keep what we knew
        changed, self.reached = reached != self.reached, reached
        if found is not self.status or changed:
            log.info("reachability: %s", found.value)
            self.status = found
            self._on_change()
