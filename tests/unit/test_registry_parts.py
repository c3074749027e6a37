"""Own record versions, the online rule, service specs and reconnect backoff."""

import random
import time

import pytest

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.registry.bootstrap import backoff_delays
from computemesh.registry.observations import Observation, Observations, is_online
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.services import parse_services


def test_own_record_sequence_outlives_a_restart() -> None:
    before = OwnRecord(peer_id=PeerId("p"), ttl=10, version="1")
    old = before.next_claims(now=1000.0)
    newer = before.next_claims(now=1000.0)
    restarted = OwnRecord(peer_id=PeerId("p"), ttl=10, version="1").next_claims(now=1000.5)
    assert old.seq < newer.seq < restarted.seq


def test_withdrawn_record_is_a_tombstone_that_outlives_records() -> None:
    own = OwnRecord(peer_id=PeerId("p"), ttl=10, version="1")
    own.withdrawn = True
    claims = own.next_claims()
    assert claims.deleted
    assert claims.ttl >= 10


def test_online_rule() -> None:
    now = time.time()
    assert is_online(Observation(connected=True), now, 40)
    assert is_online(Observation(last_seen=now - 39), now, 40)
    assert not is_online(Observation(last_seen=now - 41), now, 40)
    # dropped after it was last heard from: gone at once, not after 40 s
    assert not is_online(Observation(last_seen=now - 2, disconnected_at=now - 1), now, 40)
    # heard from again (via gossip) after the drop: back online
    assert is_online(Observation(last_seen=now - 1, disconnected_at=now - 2), now, 40)


def test_latency_is_smoothed() -> None:
    observations = Observations()
    observations.latency(PeerId("p"), 10.0, 0)
    observations.latency(PeerId("p"), 20.0, 0)
    latency = observations.get(PeerId("p")).latency_ms
    assert latency is not None
    assert 10.0 < latency < 20.0


def test_observations_of_peers_outside_the_retained_set_are_forgotten() -> None:
    observations = Observations()
    for peer in ("member", "transient"):
        observations.connection(PeerId(peer), True, 1.0)
        observations.connection(PeerId(peer), False, 2.0)
    observations.retain({PeerId("member")})
    assert observations.get(PeerId("member")).disconnected_at == 2.0
    assert observations.get(PeerId("transient")) == Observation()
    assert len(observations._peers) == 1


def test_service_specs() -> None:
    services = parse_services(
        ["llm=http://127.0.0.1:8080/", "emb=https://host"],
        ["llm:model=gpt2", "llm:model=llama"],
    )
    assert services["llm"].url == "http://127.0.0.1:8080"
    assert services["llm"].identity_group == ("model=gpt2", "model=llama")
    claim = services["emb"].claim()
    assert (claim.host, claim.port, claim.status) == ("host", 443, "online")


@pytest.mark.parametrize(
    ("specs", "groups"),
    [
        (["llm"], []),
        (["llm=ftp://x"], []),
        (["=http://x"], []),
        (["a=http://x"], ["b:model=1"]),
        (["a=http://x"], ["a:model"]),
    ],
)
def test_bad_service_specs_are_clear_errors(specs: list[str], groups: list[str]) -> None:
    with pytest.raises(ConfigError):
        parse_services(specs, groups)


def test_backoff_doubles_to_a_cap_with_jitter() -> None:
    delays = backoff_delays(1.0, 8.0, random.Random(7))
    taken = [next(delays) for _ in range(6)]
    bounds = [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (4.0, 8.0), (4.0, 8.0)]
    assert all(low <= d <= high for d, (low, high) in zip(taken, bounds, strict=True))
    assert len(set(taken)) == len(taken)  # jittered, not lock-step
