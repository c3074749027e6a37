"""``routing.explain`` over a real table sync: records refused, unhealthy, and withdrawn.

The records are signed by real keys and go through the path gossip and the table
exchange use (``TableSync._accept``), so the refusal is noted as a real one would be.
"""

import time
from collections.abc import AsyncIterator

import pytest

from computemesh.ids import PeerId
from computemesh.p2p.host import open_mesh_host
from computemesh.p2p.identity import NodeIdentity, generate
from computemesh.protocol.mesh import NodeClaims, ServiceClaim, ServiceStatus, SignedRecord
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.sync import TableSync
from computemesh.routing.explain import explain
from computemesh.routing.stats import ProviderStats
from tests.support.newer_records import signed

MODEL = "m"
WINDOW_S = 40.0


def record(
    identity: NodeIdentity,
    issued_at: float,
    *,
    seq: int = 1,
    status: ServiceStatus = "online",
    deleted: bool = False,
) -> SignedRecord:
    """``identity``'s record offering MODEL (or its tombstone), signed by it."""
    service = ServiceClaim(name="llm", identity_group=(f"model={MODEL}",), status=status)
    claims = NodeClaims(
        peer_id=identity.peer_id,
        seq=seq,
        issued_at=issued_at,
        ttl=60,
        deleted=deleted,
        services=() if deleted else (service,),
    )
    return signed(claims.model_dump_json(), identity)


@pytest.fixture
async def sync() -> AsyncIterator[TableSync]:
    identity = generate("ed25519")
    async with open_mesh_host(identity, ["/ip4/127.0.0.1/tcp/0"]) as host:
        own = OwnRecord(peer_id=host.peer_id, ttl=30, version="test")
        yield TableSync(host, identity.sign, own, refresh=5, max_peers=8)


def receive(sync: TableSync, signed_record: SignedRecord) -> None:
    sync._accept(signed_record, "gossip")


async def test_refused_unhealthy_and_withdrawn_records_each_say_why(sync: TableSync) -> None:
    now = time.time()
    sick, skewed, gone = generate("ed25519"), generate("ed25519"), generate("ed25519")
    receive(sync, record(sick, now, status="unhealthy"))
    sync.observations.connection(sick.peer_id, True, now)
    receive(sync, record(skewed, now + 3600))  # a clock an hour ahead: refused
    receive(sync, record(gone, now))
    receive(sync, record(gone, now, seq=2, deleted=True))

    found = {v.peer: v for v in explain(sync, ProviderStats(), WINDOW_S, MODEL).providers}
    assert set(found) == {sick.peer_id, skewed.peer_id}  # a withdrawn record claims nothing
    assert found[sick.peer_id].verdict == "unhealthy"
    assert found[sick.peer_id].online
    refused = found[skewed.peer_id]
    assert refused.verdict == "rejected"
    assert refused.last_rejection is not None
    assert refused.last_rejection.reason == "future"
    assert "clock skew" in refused.last_rejection.detail

    [left] = explain(sync, ProviderStats(), WINDOW_S, MODEL, PeerId(gone.peer_id)).providers
    assert left.verdict == "left"
    assert explain(sync, ProviderStats(), WINDOW_S, "other").providers == []


async def test_a_provider_cooled_down_and_then_answering_is_a_candidate_again(
    sync: TableSync,
) -> None:
    now = time.time()
    provider = generate("ed25519")
    receive(sync, record(provider, now))
    sync.observations.connection(provider.peer_id, True, now)
    stats = ProviderStats()
    stats.failed(PeerId(provider.peer_id), time.monotonic(), "answered HTTP 502")

    [cooled] = explain(sync, stats, WINDOW_S, MODEL).providers
    assert cooled.verdict == "cooled_down"
    assert cooled.cooldown is not None
    assert cooled.cooldown.reason == "answered HTTP 502"
    assert now < cooled.cooldown.until <= now + stats.cooldown_initial + 1

    stats.answered(PeerId(provider.peer_id), 0.05)
    [warm] = explain(sync, stats, WINDOW_S, MODEL).providers
    assert (warm.verdict, warm.reach, warm.candidate) == ("candidate", "direct", True)
    assert warm.routing is not None
    assert warm.routing.latency_ewma_ms == 50.0
