"""A service's providers, grouped once per table; whether each is online, per request."""

from types import SimpleNamespace
from typing import Any

import pytest

from computemesh.p2p.identity import generate
from computemesh.protocol.mesh import NodeClaims, ServiceClaim
from computemesh.registry import view
from computemesh.registry.observations import Observations
from computemesh.registry.providers import ProviderIndex
from computemesh.registry.records import sign
from computemesh.registry.table import NodeTable, apply
from computemesh.routing.candidates import find_candidates

NOW = 1_700_000_000.0
WINDOW = 40.0
NODES = [generate("ed25519") for _ in range(12)]


def offer(
    table: NodeTable, node: int, *services: str, seq: int = 1, group: tuple[str, ...] = ()
) -> NodeTable:
    identity = NODES[node]
    claims = NodeClaims(
        peer_id=identity.peer_id,
        seq=seq,
        issued_at=NOW,
        ttl=600.0,
        services=tuple(ServiceClaim(name=name, identity_group=group) for name in services),
    )
    return apply(table, sign(claims, identity.sign), NOW)[0]


def mesh(table: NodeTable, own: int = 0) -> Any:
    observations = Observations()
    for identity in NODES:
        observations.connection(identity.peer_id, True, NOW)
    host = SimpleNamespace(peer_id=NODES[own].peer_id)
    return SimpleNamespace(table=table, observations=observations, host=host)


def a_table() -> NodeTable:
    table = NodeTable()
    for node in range(len(NODES)):
        services = ("llm", "embeddings") if node % 3 == 0 else ("llm",) if node % 2 else ()
        table = offer(table, node, *services)
    return table


def test_a_services_providers_are_the_rows_that_offer_it_in_the_same_order() -> None:
    sync = mesh(a_table(), own=3)
    index = ProviderIndex(sync, WINDOW)
    for service in ("llm", "embeddings", "none"):
        offering = [
            row
            for row in view.rows(sync, NOW, WINDOW)
            if any(claim.name == service for claim in row.claims.services)
        ]
        assert index.rows(service, NOW) == offering
    assert index.rows("llm", NOW)[0].is_self  # this node first, as everywhere


def test_a_new_table_is_grouped_again_at_the_next_request() -> None:
    sync = mesh(a_table())
    index = ProviderIndex(sync, WINDOW)
    assert NODES[2].peer_id not in {row.claims.peer_id for row in index.rows("llm", NOW)}
    sync.table = offer(sync.table, 2, "llm", seq=2)
    assert NODES[2].peer_id in {row.claims.peer_id for row in index.rows("llm", NOW)}


def test_a_provider_that_drops_is_offline_at_once_with_the_same_table() -> None:
    sync = mesh(a_table())
    index = ProviderIndex(sync, WINDOW)
    dropped = NODES[1].peer_id
    assert all(row.online for row in index.rows("llm", NOW))
    sync.observations.connection(dropped, False, NOW + 1)
    online = {row.claims.peer_id: row.online for row in index.rows("llm", NOW + 1)}
    assert online[dropped] is False
    assert sum(online.values()) == len(online) - 1


def test_the_records_claiming_a_model_and_only_those() -> None:
    table = NodeTable()
    for node, models in enumerate([("model=a",), ("model=a", "model=b"), ("model=b",), ()]):
        table = offer(table, node, "llm", group=models)
    table = offer(table, 4, "other", group=("model=a",))
    index = ProviderIndex(mesh(table), WINDOW)
    claiming_a = [row.claims.peer_id for row in index.claiming("llm", "model=a", NOW)]
    assert claiming_a == [NODES[0].peer_id, NODES[1].peer_id]  # this node first
    assert {row.claims.peer_id for row in index.claiming("llm", "model=b", NOW)} == {
        NODES[1].peer_id,
        NODES[2].peer_id,
    }
    assert index.claiming("llm", "model=c", NOW) == []
    assert len(index.rows("llm", NOW)) == 4  # the one with no model serves any


GROUPS = [("model=a",), ("model=a", "model=b"), ("model=b", "region=x"), (), ("region=y",)]
ASKED = [{}, {"model": "a"}, {"model": "b", "region": "x"}, {"model": "c"}, {"region": "y"},
         {"temperature": "0.5", "model": "a"}]  # fmt: skip


@pytest.mark.parametrize("fields", ASKED)
def test_the_narrowed_search_finds_every_candidate_the_whole_table_gives(
    fields: dict[str, str],
) -> None:
    table = NodeTable()
    for node in range(len(NODES)):
        table = offer(table, node, "llm", group=GROUPS[node % len(GROUPS)])
    sync = mesh(table, own=4)
    index = ProviderIndex(sync, WINDOW)
    everyone = find_candidates(view.rows(sync, NOW, WINDOW), "llm", fields)
    searched = index.matching("llm", fields, NOW)
    assert find_candidates(searched, "llm", fields) == everyone
    assert everyone  # every request above has someone to serve it
    if "model" in fields:
        assert len(searched) < len(index.rows("llm", NOW))  # a narrowed search
