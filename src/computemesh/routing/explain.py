"""Why a provider is, or is not, a candidate for a model right now (``/v1/dnt/explain``).

A read-only query over what routing decides with: the table's records (which claim
the model, and whether a service is healthy), this node's observations (online,
since when offline), the routing statistics (cool-downs and why, in flight,
latency), the records this node refused, and the peers refused as members of
another network. One entry per (peer, service) that claims ``model=X``; with a
peer, that peer's entry even when it claims nothing of the kind, so the answer
always says something about it.

The verdicts, in the order they are checked: ``candidate`` (``reach`` says how it is
reached: ``local`` or ``direct``; relayed connections come with the relay work),
``offline``, ``unhealthy``, ``cooled_down`` (skipped while any other candidate is
warm), ``no_match`` (the peer's record claims no such model), ``rejected`` (its
record was refused and no older one is held), ``left`` (a tombstone),
``another_network``, ``unknown``.
"""

import time
from dataclasses import dataclass, replace
from typing import Literal

from computemesh.ids import PeerId
from computemesh.protocol.mesh import ServiceClaim
from computemesh.registry.rejections import Rejection
from computemesh.registry.sync import TableSync
from computemesh.registry.view import PeerRow, row_of
from computemesh.routing.catalog import MODEL_KEY
from computemesh.routing.stats import Cooldown, ProviderStats

Verdict = Literal[
    "candidate",
    "offline",
    "unhealthy",
    "cooled_down",
    "no_match",
    "rejected",
    "left",
    "another_network",
    "unknown",
]
Reach = Literal["local", "direct"]


@dataclass(frozen=True)
class RoutingInputs:
    """What the power of two choices weighs: load (in flight) and latency."""

    reported_load: int
    inflight_here: int
    latency_ewma_ms: float | None
    ping_ms: float | None


@dataclass(frozen=True)
class CooldownView:
    until: float
    failures: int
    reason: str


@dataclass(frozen=True)
class RejectionView:
    reason: str
    detail: str
    at: float


@dataclass(frozen=True)
class ProviderVerdict:
    peer: str
    service: str | None
    verdict: Verdict
    candidate: bool
    detail: str
    is_self: bool = False
    online: bool = False
    offline_since: float | None = None
    service_status: str | None = None
    identity_group: tuple[str, ...] = ()
    cooldown: CooldownView | None = None
    last_rejection: RejectionView | None = None
    reach: Reach | None = None
    routing: RoutingInputs | None = None


@dataclass(frozen=True)
class Explanation:
    model: str
    peer: str | None
    candidates: int
    providers: list[ProviderVerdict]


@dataclass(frozen=True)
class Clocks:
    """Now on the wall clock (answers) and on the monotonic one (cool-downs)."""

    wall: float
    monotonic: float

    @classmethod
    def now(cls) -> "Clocks":
        return cls(time.time(), time.monotonic())

    def to_wall(self, monotonic: float) -> float:
        return self.wall + (monotonic - self.monotonic)


def explain(
    sync: TableSync,
    stats: ProviderStats,
    online_window: float,
    model: str,
    peer: PeerId | None = None,
    clocks: Clocks | None = None,
) -> Explanation:
    """Every provider claiming ``model`` (or only ``peer``) and its verdict."""
    clocks = clocks or Clocks.now()
    entry = f"{MODEL_KEY}={model}"
    verdicts: list[ProviderVerdict] = []
    for claims in sync.table.live():
        if peer is not None and claims.peer_id != peer:
            continue
        row = row_of(sync, claims, clocks.wall, online_window)
        claiming = [s for s in claims.services if entry in s.identity_group]
        for service in claiming:
            verdicts.append(_judge(sync, stats, row, service, clocks))
        if not claiming and peer is not None:
            verdicts.append(_no_match(row, model))
    if peer is not None and not verdicts:
        verdicts.append(_absent(sync, peer))
    elif peer is None:
        verdicts += _refused_claiming(sync, entry)
    verdicts.sort(key=lambda v: (not v.is_self, v.peer, v.service or ""))
    return Explanation(model, peer, sum(v.candidate for v in verdicts), verdicts)


def _judge(
    sync: TableSync, stats: ProviderStats, row: PeerRow, service: ServiceClaim, clocks: Clocks
) -> ProviderVerdict:
    peer = row.claims.peer_id
    base = ProviderVerdict(
        peer=peer,
        service=service.name,
        verdict="candidate",
        candidate=False,
        detail="",
        is_self=row.is_self,
        online=row.online,
        service_status=service.status,
        identity_group=service.identity_group,
        last_rejection=_rejection_of(sync, peer),
        routing=_inputs(stats, row),
    )
    if not row.online:
        return replace(
            base,
            verdict="offline",
            offline_since=_offline_since(row),
            detail="not connected, and not heard from within the online window",
        )
    if service.status != "online":
        detail = f"its node reports service {service.name!r} {service.status} (health probe)"
        return replace(base, verdict="unhealthy", detail=detail)
    cooldown = stats.cooldown(peer, clocks.monotonic)
    if cooldown is not None:
        return _cooled(base, cooldown, clocks)
    if row.is_self:
        return replace(base, candidate=True, reach="local", detail="served by this node")
    detail = (
        "connected directly over libp2p"
        if row.observation.connected
        else "heard from within the online window; dialed directly when chosen"
    )
    return replace(base, candidate=True, reach="direct", detail=detail)


def _cooled(base: ProviderVerdict, cooldown: Cooldown, clocks: Clocks) -> ProviderVerdict:
    detail = (
        f"cooled down for {cooldown.until - clocks.monotonic:.1f} s more after"
        f" {cooldown.failures} failure(s) in a row: {cooldown.reason or 'failed'};"
        " tried only if every other candidate is cooling too"
    )
    view = CooldownView(clocks.to_wall(cooldown.until), cooldown.failures, cooldown.reason)
    return replace(base, verdict="cooled_down", cooldown=view, detail=detail)


def _inputs(stats: ProviderStats, row: PeerRow) -> RoutingInputs:
    peer = row.claims.peer_id
    latency, ping = stats.latency_s.get(peer), row.observation.latency_ms
    return RoutingInputs(
        reported_load=row.claims.load,
        inflight_here=stats.inflight[peer],
        latency_ewma_ms=None if latency is None else round(latency * 1000, 3),
        ping_ms=None if ping is None else round(ping, 3),
    )


def _offline_since(row: PeerRow) -> float | None:
    """When the peer's connection dropped, else when it was last heard from."""
    seen = row.observation
    if seen.disconnected_at and seen.disconnected_at >= seen.last_seen:
        return seen.disconnected_at
    if seen.last_seen:
        return seen.last_seen  # not heard from since; offline once the window passed
    return None


def _no_match(row: PeerRow, model: str) -> ProviderVerdict:
    groups = [f"{s.name}: {' '.join(s.identity_group) or '(none)'}" for s in row.claims.services]
    detail = f"its record claims no {MODEL_KEY}={model}; it offers " + (
        "; ".join(groups) or "nothing"
    )
    return ProviderVerdict(
        peer=row.claims.peer_id,
        service=None,
        verdict="no_match",
        candidate=False,
        detail=detail,
        is_self=row.is_self,
        online=row.online,
    )


def _absent(sync: TableSync, peer: PeerId) -> ProviderVerdict:
    """A peer with no live record: refused, gone, of another network, or never heard of."""
    rejection = _rejection_of(sync, peer)
    if rejection is not None:
        return _refused(peer, rejection)
    held = sync.table.get(peer)
    if held is not None and held.deleted:
        detail = f"it left the mesh (signed tombstone at {held.issued_at:.0f})"
        return ProviderVerdict(
            peer=peer, service=None, verdict="left", candidate=False, detail=detail
        )
    refused_at = sync.host.refused_at(peer)
    if refused_at is not None:
        detail = (
            f"it failed this network's membership challenge at {refused_at:.0f}:"
            " it belongs to another network (join token)"
        )
        return ProviderVerdict(
            peer=peer, service=None, verdict="another_network", candidate=False, detail=detail
        )
    detail = "no record of it: never heard of, or its record expired"
    return ProviderVerdict(
        peer=peer, service=None, verdict="unknown", candidate=False, detail=detail
    )


def _refused_claiming(sync: TableSync, entry: str) -> list[ProviderVerdict]:
    """Peers with no record held whose last refused record claimed ``entry``."""
    held = {claims.peer_id for claims in sync.table.live()}
    return [
        _refused(peer, RejectionView(r.reason, r.detail, r.at))
        for peer, r in sync.rejections.last.items()
        if peer not in held and entry in r.claimed
    ]


def _refused(peer: PeerId, rejection: RejectionView) -> ProviderVerdict:
    detail = f"its record was refused ({rejection.reason}): {rejection.detail}"
    return ProviderVerdict(
        peer=peer,
        service=None,
        verdict="rejected",
        candidate=False,
        detail=detail,
        last_rejection=rejection,
    )


def _rejection_of(sync: TableSync, peer: PeerId) -> RejectionView | None:
    found: Rejection | None = sync.rejections.last.get(peer)
    return None if found is None else RejectionView(found.reason, found.detail, found.at)
