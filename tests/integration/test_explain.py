"""``/v1/dnt/explain`` and ``computemesh node why`` on real node processes: why each
provider of a model is, or is not, used (one offline, one cooled down, one healthy)."""

import httpx
import openai
import pytest

from computemesh import jointoken
from computemesh.cli.localmesh import LocalNode, wait_until
from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess, run_cli, upstream

CONVERGE_S = 30.0
MODEL = "shared-model"


def provider(start_node: StartNode, entry: LocalNode, url: str) -> LocalNode:
    return start_node(
        "--bootstrap", entry.bootstrap_addr(),
        "--service", f"llm={url}", "--identity-group", f"llm:model={MODEL}",
    )  # fmt: skip


def explained(node: LocalNode, **params: str) -> dict[str, dict[str, object]]:
    found = node.get("/v1/dnt/explain", model=MODEL, **params)
    return {entry["peer"]: entry for entry in found["providers"]}


def verdicts(node: LocalNode) -> dict[str, object]:
    return {peer: entry["verdict"] for peer, entry in explained(node).items()}


@pytest.fixture
def three_providers(
    start_node: StartNode, upstreams: list[UpstreamProcess]
) -> tuple[LocalNode, LocalNode, LocalNode, LocalNode]:
    """An entry node, and providers of MODEL: healthy, failing (500s), and killed.

    The entry routes at random: p2c would keep to the measured healthy provider, and
    the failing one might never be tried (so never cooled down).
    """
    entry = start_node("--public-addr", "127.0.0.1", env={"COMPUTEMESH_ROUTING_STRATEGY": "random"})
    healthy = provider(start_node, entry, upstream(upstreams, "--name", "ok").url)
    failing = provider(start_node, entry, upstream(upstreams, "--name", "bad", "--fail").url)
    gone = provider(start_node, entry, upstream(upstreams, "--name", "gone").url)
    everyone = {healthy.peer_id, failing.peer_id, gone.peer_id}
    assert wait_until(lambda: set(verdicts(entry)) == everyone, CONVERGE_S)
    gone.kill()
    assert wait_until(lambda: verdicts(entry)[gone.peer_id] == "offline", CONVERGE_S)
    return entry, healthy, failing, gone


def cool_down_the_failing_one(entry: LocalNode, failing: LocalNode) -> dict[str, dict[str, object]]:
    """Send requests until routing tried the failing provider; its explain right then."""
    client = openai.OpenAI(base_url=f"{entry.url}/v1/service/llm/v1", api_key="unused")
    for _ in range(40):
        answer = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content == "hello from ok"  # retried on the healthy
        found = explained(entry)
        if found[failing.peer_id]["verdict"] == "cooled_down":
            return found
    raise AssertionError("the failing provider was never tried")


def test_offline_cooled_down_and_healthy_providers_get_three_reasons(
    three_providers: tuple[LocalNode, LocalNode, LocalNode, LocalNode],
) -> None:
    entry, healthy, failing, gone = three_providers
    found = cool_down_the_failing_one(entry, failing)

    ok = found[healthy.peer_id]
    assert (ok["verdict"], ok["candidate"], ok["reach"]) == ("candidate", True, "direct")
    routing = ok["routing"]
    assert isinstance(routing, dict)
    assert routing["latency_ewma_ms"] is not None

    cooled = found[failing.peer_id]
    assert cooled["candidate"] is False
    assert cooled["reach"] is None
    cooldown = cooled["cooldown"]
    assert isinstance(cooldown, dict)
    assert cooldown["reason"] == "answered HTTP 500"
    assert cooldown["failures"] == 1
    assert cooldown["until"] > 0

    offline = found[gone.peer_id]
    assert offline["verdict"] == "offline"
    assert offline["candidate"] is False
    assert isinstance(offline["offline_since"], float)
    assert offline["offline_since"] > 0

    summary = entry.get("/v1/dnt/explain", model=MODEL)
    assert summary["candidates"] == 1
    assert summary["model"] == MODEL


def test_peer_filter_and_peers_that_claim_no_such_model(
    three_providers: tuple[LocalNode, LocalNode, LocalNode, LocalNode],
) -> None:
    entry, healthy, _, gone = three_providers
    only = entry.get("/v1/dnt/explain", model=MODEL, peer=gone.peer_id)
    assert [p["peer"] for p in only["providers"]] == [gone.peer_id]
    assert only["providers"][0]["verdict"] == "offline"

    other = entry.get("/v1/dnt/explain", model="another-model", peer=healthy.peer_id)
    [entry_of_healthy] = other["providers"]
    assert entry_of_healthy["verdict"] == "no_match"
    assert f"model={MODEL}" in entry_of_healthy["detail"]
    assert entry.get("/v1/dnt/explain", model="another-model")["providers"] == []

    # Read-only like the table, it is on the peer-safe app too: another node's view.
    theirs = httpx.get(f"{entry.url}/v1/p2p/{healthy.peer_id}/v1/dnt/explain?model={MODEL}")
    assert theirs.status_code == 200
    assert {p["peer"] for p in theirs.json()["providers"]} >= {healthy.peer_id}

    stranger = "12D3KooWJ5EYrFNLAeUKs1vu2AmaU9X5XRGK9tC5uYcmAiU4UnbA"
    [unknown] = entry.get("/v1/dnt/explain", model=MODEL, peer=stranger)["providers"]
    assert unknown["verdict"] == "unknown"

    bad = httpx.get(f"{entry.url}/v1/dnt/explain", params={"model": MODEL, "peer": "nope"})
    assert bad.status_code == 400
    assert "peer id" in bad.json()["error"]
    missing = httpx.get(f"{entry.url}/v1/dnt/explain")
    assert missing.status_code == 422
    assert "model" in missing.json()["error"]


def test_node_why_prints_each_provider_and_its_verdict(
    three_providers: tuple[LocalNode, LocalNode, LocalNode, LocalNode],
) -> None:
    entry, healthy, _, gone = three_providers
    result = run_cli("node", "why", "--model", MODEL, "--node-url", entry.url)
    assert result.returncode == 0, result.stderr
    rows = {line for line in result.stdout.splitlines() if "…" in line}
    for node, verdict in ((healthy, "candidate"), (gone, "offline")):
        short = f"{node.peer_id[:10]}…{node.peer_id[-6:]}"
        assert any(short in row and verdict in row for row in rows), result.stdout
    assert "1 candidate(s)" in result.stdout or "2 candidate(s)" in result.stdout

    narrowed = run_cli(
        "node", "why", "--model", MODEL, "--peer", gone.peer_id, "--node-url", entry.url
    )
    assert narrowed.returncode == 0, narrowed.stderr
    assert "offline" in narrowed.stdout
    assert "candidate  " not in narrowed.stdout
    assert "since" in narrowed.stdout

    nobody = run_cli("node", "why", "--model", "nobody-serves-it", "--node-url", entry.url)
    assert nobody.returncode == 0, nobody.stderr
    assert "no node's record claims model=nobody-serves-it" in nobody.stdout

    refused = run_cli("node", "why", "--model", MODEL, "--peer", "nope", "--node-url", entry.url)
    assert refused.returncode == 1
    assert "400" in refused.stdout


def test_a_peer_of_another_network_is_named_so(start_node: StartNode) -> None:
    ours, theirs = jointoken.new_token([]).encode(), jointoken.new_token([]).encode()
    entry = start_node("--public-addr", "127.0.0.1", "--token", ours)
    outsider = start_node("--bootstrap", entry.bootstrap_addr(), "--token", theirs)

    def named() -> object:
        [found] = entry.get("/v1/dnt/explain", model=MODEL, peer=outsider.peer_id)["providers"]
        return found["verdict"]

    assert wait_until(lambda: named() == "another_network", CONVERGE_S)
