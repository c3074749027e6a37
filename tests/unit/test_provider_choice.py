"""The choice of provider: strategy, cool-downs, failover (routing.dispatcher, strategy).

A fake sender stands in for the transport: these tests are about which provider is
asked and what happens after it answers, not about HTTP over libp2p, which the
process tests cover. Each answers in milliseconds.
"""

import random
import time
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from computemesh.ids import PeerId
from computemesh.p2p.identity import generate
from computemesh.protocol.mesh import NodeClaims, ServiceClaim
from computemesh.registry.observations import Observations
from computemesh.registry.providers import ProviderIndex
from computemesh.registry.records import sign
from computemesh.registry.table import NodeTable, apply
from computemesh.routing.candidates import Candidate
from computemesh.routing.dispatcher import SERVED_BY, Dispatcher
from computemesh.routing.errors import (
    AllAttemptsFailed,
    BadAnswer,
    DeadlineExceeded,
    NoProvider,
)
from computemesh.routing.forwarder import Outbound
from computemesh.routing.stats import ProviderStats
from computemesh.routing.strategy import Strategy

NOW = time.time()
NODES = [generate("ed25519") for _ in range(5)]
PEERS = [PeerId(node.peer_id) for node in NODES]
REQUEST = Outbound("POST", "/v1/chat/completions", b"", [], b'{"model": "m"}')
FIELDS = {"model": "m"}
Answer = int | Exception  # an HTTP status to answer with, or what the transport raises


class FakeSender:
    """Answers each provider as told (200 unless told otherwise) and notes who was asked."""

    def __init__(self, answers: Mapping[PeerId, Answer] | None = None) -> None:
        self.answers = dict(answers or {})
        self.asked: list[PeerId] = []

    def build(self, method: str, url: str, *rest: Any) -> str:
        return url

    async def send(self, url: str) -> httpx.Response:
        peer = PeerId(url.removeprefix("libp2p://").split("/")[0])
        self.asked.append(peer)
        answer = self.answers.get(peer, 200)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, content=f"from {peer}".encode())


def table_of(nodes: int, loads: Mapping[int, int] | None = None) -> NodeTable:
    table = NodeTable()
    for node in range(nodes):
        claims = NodeClaims(
            peer_id=PEERS[node],
            seq=1,
            issued_at=NOW,
            ttl=600.0,
            load=(loads or {}).get(node, 0),
            services=(ServiceClaim(name="llm", identity_group=("model=m",)),),
        )
        table = apply(table, sign(claims, NODES[node].sign), NOW)[0]
    return table


def dispatcher(
    sender: FakeSender,
    nodes: int = 3,
    *,
    own: int | None = None,
    strategy: Strategy = "p2c",
    loads: Mapping[int, int] | None = None,
    max_attempts: int = 3,
    seed: int = 1,
) -> Dispatcher:
    observations = Observations()
    for peer in PEERS:
        observations.connection(peer, True, NOW)
    host = SimpleNamespace(peer_id="" if own is None else PEERS[own])
    sync: Any = SimpleNamespace(table=table_of(nodes, loads), observations=observations, host=host)
    return Dispatcher(
        http=sender,  # type: ignore[arg-type]
        providers=ProviderIndex(sync, 40.0),
        local_url=lambda service, fields: None,  # own services too go over the mesh here
        strategy=strategy,
        max_attempts=max_attempts,
        stats=ProviderStats(cooldown_initial=60.0),
        rng=random.Random(seed),
    )


async def dispatch(routing: Dispatcher, deadline_s: float = 30.0) -> httpx.Response | Any:
    return await routing.dispatch("llm", REQUEST, FIELDS, time.monotonic() + deadline_s)


async def served_by(routing: Dispatcher) -> PeerId:
    answer = await dispatch(routing)
    await answer.aclose()
    return PeerId(dict(answer.headers)[SERVED_BY])


async def test_a_provider_that_answers_5xx_is_passed_over_and_cooled_down() -> None:
    sender = FakeSender({PEERS[0]: 503})
    routing = dispatcher(sender, nodes=2, strategy="least-loaded", loads={1: 1})  # 0 first
    served = {await served_by(routing) for _ in range(6)}
    assert served == {PEERS[1]}
    assert sender.asked.count(PEERS[0]) == 1  # cooling down after its failure: asked last
    assert routing.stats.cooling(PEERS[0], time.monotonic())
    assert not routing.stats.inflight  # every attempt came back down


async def test_an_unreachable_provider_is_passed_over() -> None:
    sender = FakeSender({PEERS[0]: httpx.ConnectError("refused"), PEERS[1]: 500})
    routing = dispatcher(sender, strategy="least-loaded", loads={2: 1})  # 2 is asked last
    assert await served_by(routing) == PEERS[2]
    assert set(sender.asked[:2]) == set(PEERS[:2])
    assert sender.asked[2:] == [PEERS[2]]


async def test_attempts_are_bounded_and_every_failure_is_told() -> None:
    sender = FakeSender(dict.fromkeys(PEERS, 502))
    routing = dispatcher(sender, nodes=5, max_attempts=3)
    with pytest.raises(AllAttemptsFailed) as failed:
        await dispatch(routing)
    assert len(sender.asked) == len(set(sender.asked)) == 3  # three providers, once each
    assert len(failed.value.failures) == 3
    assert all("answered HTTP 502" in line for line in failed.value.failures)


async def test_no_provider_for_the_model_is_no_provider() -> None:
    routing = dispatcher(FakeSender())
    with pytest.raises(NoProvider, match="model 'other'"):
        await routing.dispatch("llm", REQUEST, {"model": "other"}, time.monotonic() + 30)


async def test_a_passed_deadline_sends_nothing_and_tries_no_other() -> None:
    sender = FakeSender()
    routing = dispatcher(sender)
    with pytest.raises(DeadlineExceeded):
        await dispatch(routing, deadline_s=-1)
    assert sender.asked == []


async def test_the_only_provider_is_asked_even_while_cooling_down() -> None:
    sender = FakeSender({PEERS[0]: 503})
    routing = dispatcher(sender, nodes=1)
    for _ in range(2):
        with pytest.raises(AllAttemptsFailed):
            await dispatch(routing)
    assert sender.asked == [PEERS[0], PEERS[0]]


async def test_an_answer_ends_the_cool_down() -> None:
    sender = FakeSender({PEERS[0]: 503})
    routing = dispatcher(sender, nodes=1)
    with pytest.raises(AllAttemptsFailed):
        await dispatch(routing)
    del sender.answers[PEERS[0]]
    assert await served_by(routing) == PEERS[0]
    assert not routing.stats.cooling(PEERS[0], time.monotonic())


async def test_a_relayed_answer_is_in_flight_until_closed() -> None:
    routing = dispatcher(FakeSender(), nodes=1)
    answer = await dispatch(routing)
    assert routing.stats.inflight[PEERS[0]] == 1
    assert PEERS[0] in routing.stats.latency_s
    await answer.aclose()
    assert routing.stats.inflight[PEERS[0]] == 0


async def test_least_loaded_takes_the_provider_with_the_fewest_requests() -> None:
    routing = dispatcher(FakeSender(), strategy="least-loaded", loads={0: 4, 2: 1})
    assert {await served_by(routing) for _ in range(5)} == {PEERS[1]}
    routing.stats.begin(PEERS[1])  # ours in flight count as well as what a record reports
    routing.stats.begin(PEERS[1])
    assert await served_by(routing) == PEERS[2]


async def test_power_of_two_prefers_a_local_provider_unless_it_is_busier() -> None:
    routing = dispatcher(FakeSender(), own=0)
    assert {await served_by(routing) for _ in range(5)} == {PEERS[0]}
    busy = dispatcher(FakeSender(), own=0, loads={0: 3})
    assert PEERS[0] not in {await served_by(busy) for _ in range(5)}


async def test_power_of_two_takes_the_faster_of_its_pair() -> None:
    routing = dispatcher(FakeSender(), nodes=2)
    routing.stats.answered(PEERS[0], 0.5)
    routing.stats.answered(PEERS[1], 0.01)
    assert {await served_by(routing) for _ in range(5)} == {PEERS[1]}


async def test_random_spreads_over_every_provider() -> None:
    routing = dispatcher(FakeSender(), strategy="random", own=0, loads={1: 9})
    assert {await served_by(routing) for _ in range(40)} == set(PEERS[:3])


async def test_failover_with_a_check_of_the_answer() -> None:
    """A caller's own attempt (AICN's proxy): a rejected answer cools its provider down,
    any other error ends the request at once without blaming the provider."""
    routing = dispatcher(FakeSender(), strategy="least-loaded", loads={2: 5})  # 2 is asked last
    asked: list[PeerId] = []

    def attempt_with(check: Callable[[PeerId], None]) -> Any:
        async def attempt(choice: Candidate) -> PeerId:
            asked.append(choice.peer)
            check(choice.peer)
            return choice.peer

        return attempt

    def only_the_last(peer: PeerId) -> None:
        if peer != PEERS[2]:
            raise BadAnswer(f"{peer} answered code 1006")

    assert await routing.failover("llm", FIELDS, attempt_with(only_the_last)) == PEERS[2]
    assert set(asked[:2]) == set(PEERS[:2])
    assert asked[2:] == [PEERS[2]]
    now = time.monotonic()
    assert [routing.stats.cooling(peer, now) for peer in PEERS[:3]] == [True, True, False]
    assert not routing.stats.inflight  # released at once: the answer is made whole

    def timed_out(peer: PeerId) -> None:
        raise TimeoutError("the request's own deadline")

    asked.clear()
    with pytest.raises(TimeoutError):
        await routing.failover("llm", FIELDS, attempt_with(timed_out))
    assert asked == [PEERS[2]]  # the one warm provider, and no other after it
    assert not routing.stats.cooling(PEERS[2], time.monotonic())
    assert not routing.stats.inflight
