"""Nodes behind real kernel NAT (``tests/support/netns.py``'s topology): a public
bootstrap and relay R, a provider P behind NAT 1, a client node C behind NAT 2, and
nobody told anything but R's address. Each home's router masquerades and drops
unsolicited inbound traffic, so P and C can reach each other only through a relay
(or a punched hole). Everything runs inside namespaces the test makes and removes.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from computemesh.p2phttp.drain import IDLE_TIMEOUT_S
from tests.support.netns import PUBLIC_IP, NatTopology, nat_topology, require_nat
from tests.support.netns_nodes import NsNode, start_upstream

MODEL = "m-home"
UPSTREAM_PORT = 9000
USABLE_S = 30.0  # the goal is 10 s; the test leaves room for a loaded machine
TOKEN_ENV = "COMPUTEMESH_TOKEN"


@dataclass
class Mesh:
    net: NatTopology
    relays: list[NsNode]
    provider: NsNode
    client: NsNode


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def lists_model(node: NsNode) -> bool:
    return any(m["id"] == MODEL for m in node.get("/v1/models")["data"])


def answers(node: NsNode) -> bool:
    with node.client(10) as http:
        return http.post("/v1/chat/completions", json=chat()).status_code == 200


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Callable[..., Mesh]]:
    require_nat()
    nodes: list[NsNode] = []
    upstreams: list[Any] = []
    with nat_topology() as net:

        def build(
            relays: int = 1, *args: str, upstream: tuple[str, ...] = (), punchable: bool = False
        ) -> Mesh:
            """``punchable=False``: no hole can be punched (only relays join the homes)."""
            if not punchable:
                block_direct(net, True)
            started = []
            for n in range(relays):
                relay = NsNode(net.public, tmp_path / f"relay{n}", listen_port=4001 + n)
                relay.http_port += n
                nodes.append(relay)
                started.append(relay.start("--public-addr", PUBLIC_IP, *args).wait_healthy())
            boot = [a for r in started for a in ("--bootstrap", r.addr(PUBLIC_IP))]
            upstreams.append(
                start_upstream(
                    net.homes[0], UPSTREAM_PORT, "--name", "P", "--model", MODEL, *upstream
                )
            )
            provider = NsNode(net.homes[0], tmp_path / "provider")
            nodes.append(provider)
            provider.start(
                *boot, *args, "--service", f"llm=http://127.0.0.1:{UPSTREAM_PORT}",
                "--identity-group", f"llm:model={MODEL}",
            )  # fmt: skip
            client = NsNode(net.homes[1], tmp_path / "client")
            nodes.append(client)
            client.start(*boot, *args)
            return Mesh(net, started, provider.wait_healthy(), client.wait_healthy())

        try:
            yield build
        finally:
            for node in nodes:
                node.kill()
            for process in upstreams:
                process.kill()
                process.wait()


def connection(node: NsNode, peer: NsNode) -> str | None:
    """How ``node`` is connected to ``peer``, as ``/v1/dnt/peers_status`` says."""
    rows = node.get("/v1/dnt/peers_status")["peers"]
    kinds = [row["connection"] for row in rows if row["id"] == peer.peer_id]
    return kinds[0] if kinds else None


def block_direct(net: NatTopology, blocked: bool) -> None:
    """Drop (or again pass) what one home sends to the other's router: only a relay
    connects them while this holds (as between NATs that map each destination apart)."""
    action = "-I" if blocked else "-D"
    for router, other in ((net.routers[0], net.router_ips[1]), (net.routers[1], net.router_ips[0])):
        router.run("iptables", action, "FORWARD", "-o", "wan", "-d", other, "-j", "DROP")


def sdk(node: NsNode) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://localhost/v1", api_key="unused", http_client=node.client()
    )


def test_a_provider_behind_nat_answers_a_client_behind_another_nat(
    mesh: Callable[..., Mesh],
) -> None:
    m = mesh()
    assert wait_for(lambda: lists_model(m.client), USABLE_S), m.client.log_tail()
    assert wait_for(lambda: answers(m.client), USABLE_S), m.client.log_tail()

    client = sdk(m.client)
    raw = client.chat.completions.with_raw_response.create(**chat())
    assert raw.headers["x-computing-node"] == m.provider.peer_id
    assert raw.parse().choices[0].message.content == "hello from P"

    with client.chat.completions.with_streaming_response.create(**chat(stream=True)) as streamed:
        assert streamed.headers["x-computing-node"] == m.provider.peer_id
        pieces = [c.choices[0].delta.content or "" for c in streamed.parse() if c.choices]
    assert len(pieces) > 1
    assert "".join(pieces)

    # The provider knows it is behind NAT, and its record offers only relayed addresses
    # besides its LAN one; the client reaches it through the relay.
    assert m.provider.get("/v1/dnt/stats")["reachability"] == "private"
    assert m.relays[0].get("/v1/dnt/stats")["reachability"] == "public"
    record = m.client.get("/v1/dnt/table")[f"/{m.provider.peer_id}"]
    circuits = [a for a in record["addresses"] if "/p2p-circuit" in a]
    assert circuits, record["addresses"]
    assert all(f"/p2p/{m.relays[0].peer_id}/p2p-circuit" in a for a in circuits)
    assert not [a for a in record["addresses"] if a.startswith(f"/ip4/{m.net.router_ips[0]}/")]
    assert not [a for a in record["addresses"] if a.startswith("/ip4/127.")]  # not for others
    assert connection(m.client, m.provider) == "relayed"
    # AICN shows the same: the provider's own addresses, and how the client reaches it.
    own_addrs = m.provider.get("/api/v0/id")["addresses"]
    assert [a for a in own_addrs if "/p2p-circuit" in a] == circuits
    swarm = m.client.get("/api/v0/swarm/peers")
    assert {p["connection"] for p in swarm if p["peer"] == m.provider.peer_id} == {"relayed"}


def relay_in_use(m: Mesh) -> NsNode:
    """The relay the client's connection to the provider goes through."""
    peers = m.client.get("/v1/dnt/peers")["peers"]
    (addrs,) = [p["Addrs"] for p in peers if p["ID"] == m.provider.peer_id]
    used = [r for r in m.relays if any(f"/p2p/{r.peer_id}/p2p-circuit" in a for a in addrs)]
    assert len(used) == 1, addrs
    return used[0]


def test_the_provider_is_reachable_again_soon_after_its_relay_dies(
    mesh: Callable[..., Mesh],
) -> None:
    m = mesh(relays=2)
    held = lambda: m.provider.get("/v1/dnt/stats")["relay_reservations_held"] == 2  # noqa: E731
    assert wait_for(held, USABLE_S), m.provider.log_tail()
    assert wait_for(lambda: answers(m.client), USABLE_S), m.client.log_tail()
    assert connection(m.client, m.provider) == "relayed"

    dying = relay_in_use(m)
    dying.kill()
    killed_at = time.monotonic()
    assert wait_for(lambda: answers(m.client), 10.0), m.client.log_tail()
    back_after = time.monotonic() - killed_at
    assert back_after <= 10.0
    (survivor,) = [r for r in m.relays if r is not dying]
    assert relay_in_use(m) is survivor


LONG_STREAM_CHUNKS, CHUNK_DELAY_S = 1800, 0.05  # 90 s, as a long answer of an engine


def long_stream(node: NsNode, chunks: list[float], started: threading.Event) -> None:
    with sdk(node).chat.completions.create(**chat(stream=True, max_tokens=LONG_STREAM_CHUNKS)) as s:
        for chunk in s:
            if chunk.choices and chunk.choices[0].delta.content:
                chunks.append(time.monotonic())
                started.set()


def test_a_relayed_connection_becomes_direct_and_a_stream_survives_the_upgrade(
    mesh: Callable[..., Mesh],
) -> None:
    m = mesh(upstream=("--chunk-delay", str(CHUNK_DELAY_S)))  # not punchable at first
    assert wait_for(lambda: answers(m.client), USABLE_S), m.client.log_tail()
    assert connection(m.client, m.provider) == "relayed"

    chunks: list[float] = []
    started = threading.Event()
    streaming = threading.Thread(target=long_stream, args=(m.client, chunks, started))
    streaming.start()
    try:
        assert started.wait(USABLE_S)
        assert connection(m.client, m.provider) == "relayed"  # the stream began relayed
        block_direct(m.net, False)
        assert wait_for(lambda: connection(m.client, m.provider) == "direct", 60.0), (
            m.client.log_tail()
        )
        upgraded_at = time.monotonic()
        for _ in range(5):  # requests keep flowing across the upgrade
            assert answers(m.client)
    finally:
        streaming.join(LONG_STREAM_CHUNKS * CHUNK_DELAY_S + 60)
    assert len(chunks) == LONG_STREAM_CHUNKS  # not one lost, none cut
    assert chunks[0] < upgraded_at < chunks[-1]
    assert chunks[-1] - chunks[0] > 60.0
    # Once the stream is done, the relayed connection is closed: the relay is free. A
    # kept-alive HTTP stream still idle on it counts as riding it, and the provider closes
    # such a stream after the peers' idle timeout (IDLE_TIMEOUT_S, 90 s): the bound here.
    circuits = lambda: m.relays[0].get("/v1/dnt/stats")["relay_circuits_open"] == 0  # noqa: E731
    assert wait_for(circuits, IDLE_TIMEOUT_S + 10.0)
    assert connection(m.client, m.provider) == "direct"
