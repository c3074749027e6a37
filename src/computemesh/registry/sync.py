"""Keeping the table in sync: the effects around the pure ``apply``.

- publish our own signed record on change and every ``refresh`` seconds;
- apply records that arrive by gossipsub;
- on every new connection, swap whole tables with the peer (anti-entropy), so
  a late joiner has the full table at once instead of after a refresh round;
- expire records past their TTL, and forget their peers;
- keep connections to live table members (so their loss is seen at once),
  and measure latency with ping;
- forget peers that are gone (neither connected nor in the live table), in the
  peerstore and in the observations.
"""

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from functools import partial

import anyio
from anyio.abc import TaskGroup

from computemesh.errors import ComputemeshError
from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost
from computemesh.p2p.stream import MeshStream
from computemesh.protocol.mesh import NodeClaims, SignedRecord, TableSnapshot
from computemesh.registry import records
from computemesh.registry.observations import Observations
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.rejections import Rejections, claimed
from computemesh.registry.table import REJECTED, NodeTable, Outcome, apply, expire
from computemesh.supervise import contain, supervise

TOPIC = "computemesh/table/1"
SYNC_PROTOCOL = "/computemesh/table-sync/1.0.0"
SYNC_TIMEOUT_S = 10.0
PING_INTERVAL_S = 15.0
CONNECT_INTERVAL_S = 1.0
# Two nodes that dial each other at once keep two connections (each with its own
# pubsub streams), so the lower peer id dials; the higher waits this long for it first.
DIAL_GRACE_S = 5.0
PEER_BACKOFF_MAX_S = 60.0
TOMBSTONE_FLUSH_S = 0.5
PRUNE_INTERVAL_S = 5.0

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class TableSync:
    """Owns the node table of one running node."""

    def __init__(
        self,
        host: MeshHost,
        sign: records.Signer,
        own: OwnRecord,
        *,
        refresh: float,
        max_peers: int,
        clock: Clock = time.time,
    ) -> None:
        self.host = host
        self.own = own
        self.table = NodeTable()
        self.observations = Observations()
        self._sign = sign
        self._refresh = refresh
        self._max_peers = max_peers
        self._clock = clock
        self._changed = anyio.Event()
        self._changed_at = 0.0
        self._backoff: dict[PeerId, tuple[float, float]] = {}
        self._unconnected_since: dict[PeerId, float] = {}
        self._tasks: TaskGroup | None = None
        self._latest: SignedRecord | None = None
        # "<source> <outcome>" -> count, for /v1/dnt/stats
        self.counts: Counter[str] = Counter()
        self.rejections = Rejections()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            self.host.on_connection(self._on_connection)
            self.host.on_addresses_changed(self.publish_now)  # reachability, relays
            self.host.set_handler(SYNC_PROTOCOL, self._serve_exchange)
            await self.host.subscribe(TOPIC, self._on_gossip, self._is_valid)
            self.publish_now()
            # Supervised: a loop that raises is logged and restarted, never the end of
            # the node (this task group is inside the node's).
            for name, loop in (
                ("record publishing", self._publish_loop),
                ("record expiry", self._expiry_loop),
                ("peer dialing", self._connect_loop),
                ("pings", self._ping_loop),
                ("peer pruning", self._prune_loop),
            ):
                tasks.start_soon(supervise, name, loop)
            task_status.started()

    def publish_now(self) -> None:
        """Our own record changed: sign it now (the API sees it at once) and gossip it."""
        self._latest = self._sign_own()
        self._accept(self._latest, "this node")
        if not self._changed.is_set():
            self._changed_at = anyio.current_time()
        self._changed.set()

    async def leave(self) -> None:
        """Graceful stop: publish a signed tombstone and give it time to spread."""
        self.own.withdrawn = True
        self.publish_now()
        await self._publish(self._latest)
        await anyio.sleep(TOMBSTONE_FLUSH_S)

    # -- own record ----------------------------------------------------------

    def _sign_own(self) -> SignedRecord:
        self.own.addresses = tuple(self.host.advertised_addrs())
        return records.sign(self.own.next_claims(self._clock()), self._sign)

    async def _publish(self, record: SignedRecord | None) -> None:
        if record is None:
            return
        try:
            await self.host.publish(TOPIC, record.model_dump_json().encode())
            self.counts["gossip published"] += 1
        except Exception as error:  # no peers yet, or a closing host
            log.debug("publishing own record failed: %s", error)

    async def _publish_loop(self) -> None:
        while True:
            with anyio.move_on_after(self._refresh):
                await self._changed.wait()
            if not self._changed.is_set():  # the refresh interval passed: re-sign
                self._latest = self._sign_own()
                self._accept(self._latest, "this node")
            changed, self._changed = self._changed, anyio.Event()
            await self._publish(self._latest)
            if changed.is_set():
                # From the change to pubsub having queued it for every peer.
                delay_ms = int((anyio.current_time() - self._changed_at) * 1000)
                self.counts["publish_delay_last_ms"] = delay_ms

    # -- incoming records ------------------------------------------------------

    def _is_valid(self, data: bytes) -> bool:
        """The gossip validator: only a record that opens is accepted and forwarded."""
        record = records.decode(data)
        if record is None:
            self.rejections.note("malformed", None, "gossip", "not a signed record envelope")
            return False
        opened = records.check(record)
        if isinstance(opened, records.Refusal):
            self.rejections.note(opened.reason, opened.author, "gossip", opened.detail)
            return False
        return True

    def _on_gossip(self, data: bytes, author: PeerId) -> None:
        record = records.decode(data)
        if record is not None:
            self.counts[f"gossip {self._accept(record, 'gossip').value}"] += 1

    def _accept(self, record: SignedRecord, source: str) -> Outcome:
        now = self._clock()
        self.table, outcome = apply(self.table, record, now)
        if outcome is Outcome.ACCEPTED:
            claims = NodeClaims.model_validate_json(record.payload)  # verified by apply
            if claims.peer_id != self.host.peer_id:
                self._on_new_claims(claims, now)
        elif outcome in REJECTED:
            self._note_rejected(record, outcome, source, now)
        return outcome

    def _note_rejected(
        self, record: SignedRecord, outcome: Outcome, source: str, now: float
    ) -> None:
        opened = records.check(record)
        if isinstance(opened, records.Refusal):
            self.rejections.note(opened.reason, opened.author, source, opened.detail)
        elif outcome is Outcome.EXPIRED:
            detail = f"expired {now - opened.expires_at:.0f} s ago"
            self.rejections.note(outcome.value, opened.peer_id, source, detail, claimed(opened))
        else:
            detail = f"signed {opened.issued_at - now:.0f} s in the future (clock skew?)"
            self.rejections.note(outcome.value, opened.peer_id, source, detail, claimed(opened))

    def _on_new_claims(self, claims: NodeClaims, now: float) -> None:
        if claims.deleted:
            self._forget(claims.peer_id)
            return
        # Evidence of life is when the author signed, not when the record reached us:
        # a record relayed late (gossip IWANT, anti-entropy) must not revive a node
        # whose connection we saw drop after it was signed.
        self.observations.seen(claims.peer_id, min(now, claims.issued_at))
        self.observations.received(claims.peer_id, now)

    # -- anti-entropy ------------------------------------------------------------

    def _snapshot(self) -> bytes:
        return TableSnapshot(records=tuple(self.table.records())).model_dump_json().encode()

    def _merge_snapshot(self, data: bytes, sender: PeerId) -> None:
        """Merge a peer's table; ``RecordError`` if it is no snapshot at all."""
        found = records.decode_snapshot(data)
        self.counts["exchanges"] += 1
        source = f"the table exchange with {sender}"
        for record in found:
            if record is None:
                self.rejections.note("malformed", sender, source, "not a signed record envelope")
                self.counts["exchange malformed"] += 1
            else:
                self.counts[f"exchange {self._accept(record, source).value}"] += 1

    async def _exchange(self, peer: PeerId) -> None:
        """Send our table to a newly connected member and merge theirs."""
        if not await self.host.wait_member(peer):
            return
        try:
            with anyio.fail_after(SYNC_TIMEOUT_S):
                stream = await self.host.open_stream(peer, SYNC_PROTOCOL)
                await stream.write_frame(self._snapshot())
                self._merge_snapshot(await stream.read_frame(), peer)
                await stream.close()
        except (ComputemeshError, TimeoutError, ValueError) as error:
            log.debug("table exchange with %s failed: %s", peer, error)

    async def _serve_exchange(self, stream: MeshStream) -> None:
        # A peer that goes away or stalls mid-exchange is ordinary network weather, as
        # on the dialing side: a line at debug level, not an error with a traceback.
        try:
            with anyio.fail_after(SYNC_TIMEOUT_S):
                theirs = await stream.read_frame()
                await stream.write_frame(self._snapshot())
        except (ComputemeshError, TimeoutError) as error:
            log.debug("table exchange from %s failed: %s", stream.remote_peer, error)
            await stream.reset()
            return
        try:
            self._merge_snapshot(theirs, stream.remote_peer)
        except ComputemeshError as error:
            log.debug("table exchange from %s failed: %s", stream.remote_peer, error)

    # -- connections -------------------------------------------------------------

    def _on_connection(self, peer: PeerId, connected: bool) -> None:
        self.counts["connects" if connected else "disconnects"] += 1
        self.observations.connection(peer, connected, self._clock())
        if connected:
            self._unconnected_since.pop(peer, None)
        if connected and self._tasks is not None:
            self._backoff.pop(peer, None)
            # One exchange per connection is enough (each side sends its table), so
            # only the side with the lower peer id starts it.
            if self.host.peer_id < peer:
                self._tasks.start_soon(
                    contain, f"table exchange with {peer}", partial(self._exchange, peer)
                )

    def _forget(self, peer: PeerId) -> None:
        self.observations.forget(peer)
        self._backoff.pop(peer, None)
        self._unconnected_since.pop(peer, None)
        if not self.host.is_connected(peer):
            self.host.forget(peer)

    async def _expiry_loop(self) -> None:
        while True:
            await anyio.sleep(1.0)
            self.table, gone = expire(self.table, self._clock())
            for peer in gone:
                self._forget(peer)

    async def _prune_loop(self) -> None:
        while True:
            await anyio.sleep(PRUNE_INTERVAL_S)
            self.prune()

    def prune(self) -> None:
        """Forget the peers that are gone, here and in the peerstore (after its grace)."""
        live = {claims.peer_id for claims in self.table.live()}
        self.host.prune_peers(keep=live)
        known = live | set(self.host.known_peers()) | set(self.host.connected_peers())
        self.observations.retain(known)
        self._backoff = {p: b for p, b in self._backoff.items() if p in live}
        self._unconnected_since = {p: t for p, t in self._unconnected_since.items() if p in live}

    async def _connect_loop(self) -> None:
        """Dial live members we are not connected to, backing off on failure."""
        while True:
            await anyio.sleep(CONNECT_INTERVAL_S)
            wanted = self._max_peers - len(self.host.connected_peers())
            async with anyio.create_task_group() as dials:
                for claims in self._dial_candidates()[: max(wanted, 0)]:
                    dials.start_soon(self._dial, claims)

    def _dial_candidates(self) -> list[NodeClaims]:
        now = time.monotonic()
        return [
            claims
            for claims in self.table.live()
            if claims.peer_id != self.host.peer_id
            and claims.addresses
            and not self.host.is_connected(claims.peer_id)
            and self._backoff.get(claims.peer_id, (0.0, 0.0))[0] <= now
            and self._our_turn_to_dial(claims.peer_id, now)
        ]

    def _our_turn_to_dial(self, peer: PeerId, now: float) -> bool:
        """The lower peer id dials at once; the higher only if that did not happen."""
        if self.host.peer_id < peer:
            return True
        since = self._unconnected_since.setdefault(peer, now)
        return now - since >= DIAL_GRACE_S

    async def _dial(self, claims: NodeClaims) -> None:
        try:
            await self.host.dial_peer(claims.peer_id, list(claims.addresses))
        except ComputemeshError:
            _, delay = self._backoff.get(claims.peer_id, (0.0, CONNECT_INTERVAL_S))
            delay = min(delay * 2, PEER_BACKOFF_MAX_S)
            self._backoff[claims.peer_id] = (
                time.monotonic() + delay * random.uniform(0.5, 1.0),
                delay,
            )

    async def _ping_loop(self) -> None:
        # Jittered so that nodes started together do not ping in lock-step.
        await anyio.sleep(random.uniform(0, PING_INTERVAL_S))
        while True:
            peers = [p for p in self.host.connected_peers() if self.host.is_member(p)]
            for peer in peers:
                await self._ping(peer)
            # At most about one ping a second however many peers: each opens a stream.
            interval = max(PING_INTERVAL_S, float(len(peers)))
            await anyio.sleep(interval * random.uniform(0.8, 1.2))

    async def _ping(self, peer: PeerId) -> None:
        try:
            with anyio.fail_after(5):
                rtt = await self.host.ping(peer)
        except Exception as error:
            log.debug("ping %s failed: %s", peer, error)
            return
        self.observations.latency(peer, rtt, self._clock())
