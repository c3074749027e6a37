"""Schemathesis over the node's and the gateway's OpenAPI descriptions, on real processes.

A two-node mesh (B serves a model from an OpenAI-shaped upstream, A joins through B)
and a gateway on PostgreSQL in front of B. Node A is fuzzed as its operator would
reach it (loopback), so its operator routes are fuzzed too; the gateway is fuzzed with
a logged-in wallet's token and an API key, so fuzzing reaches past the login checks.
Afterwards every process still answers, no answer was a 500 but those docs/api/
document, and a metered request made after the fuzzing is metered.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis

from computemesh.cli.localmesh import LocalNode, wait_until
from tests.fuzz.fuzzer import Report, Target, fuzz
from tests.gateway import harness
from tests.gateway.conftest import Wallet, bearer, new_key
from tests.support.processes import UpstreamProcess, start_upstream

MODEL = "tiny-chat"
NODE_BUDGET_S = 75.0
GATEWAY_BUDGET_S = 50.0

pytestmark = pytest.mark.slow


@dataclass
class Mesh:
    upstream: UpstreamProcess
    provider: LocalNode
    fuzzed: LocalNode
    gateway: harness.Process


@pytest.fixture
def mesh(tmp_path: Path, postgres_url: str) -> Iterator[Mesh]:
    upstream = start_upstream("--model", MODEL)
    serving = ["--service", f"llm={upstream.url}", "--identity-group", f"llm:model={MODEL}"]
    provider = LocalNode(tmp_path / "provider", args=["--public-addr", "127.0.0.1", *serving])
    fuzzed = LocalNode(tmp_path / "fuzzed")
    gateway = harness.gateway(tmp_path, [provider.url], postgres_url, ip_rpm="0")
    try:
        provider.start().wait_healthy()
        fuzzed.args = ["--bootstrap", provider.bootstrap_addr()]
        fuzzed.start().wait_healthy()
        harness.migrate(postgres_url)
        gateway.start()
        yield Mesh(upstream, provider, fuzzed, gateway)
    finally:
        for process in (gateway, fuzzed, provider, upstream):
            process.kill()


def test_fuzzing_the_node_leaves_it_serving(mesh: Mesh) -> None:
    report = fuzz(Target(mesh.fuzzed.url, _documented_node_500), NODE_BUDGET_S)
    _assert_clean(report)
    assert mesh.fuzzed.process is not None
    assert mesh.fuzzed.process.poll() is None
    assert httpx.get(f"{mesh.fuzzed.url}/v1/health", timeout=5).json() == {"status": "ok"}
    # It still routes: the provider's model, asked of the fuzzed node.
    assert wait_until(lambda: _chat(mesh.fuzzed.url).status_code == 200, timeout=30)


def test_fuzzing_the_gateway_keeps_it_metering(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.gateway.url, timeout=30) as http:
        token = Wallet().login(http)
        fuzzing_key = new_key(http, token, "fuzzing")["key"]
        checked_key = new_key(http, token, "checked")
        credentials = {"/api/v1/": fuzzing_key, "/api/": token}

        def headers_for(path: str) -> dict[str, str]:
            prefix = next((p for p in credentials if path.startswith(p)), None)
            return bearer(credentials[prefix]) if prefix else {}

        report = fuzz(Target(mesh.gateway.url, _no_500, headers_for), GATEWAY_BUDGET_S)
        _assert_clean(report)
        assert mesh.gateway.popen is not None
        assert mesh.gateway.popen.poll() is None
        answer = _chat(mesh.gateway.url + "/api", bearer(checked_key["key"]))
        assert answer.status_code == 200, answer.text

        def metered() -> bool:
            usage = http.get("/api/usage", headers=bearer(token)).json()["usage"]
            return any(row["api_key_id"] == checked_key["id"] for row in usage)

        assert wait_until(metered, timeout=15)


def _chat(base_url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
    return httpx.post(f"{base_url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def _documented_node_500(path: str, response: schemathesis.Response) -> bool:
    """LocalAI's P2P routes answer 500 on a node without P2P and for an open mesh's token."""
    return path.startswith("/api/p2p")


def _no_500(path: str, response: schemathesis.Response) -> bool:
    return False


def _assert_clean(report: Report) -> None:
    summary = f"{report.requests} requests, statuses {sorted(report.statuses.items())}"
    print(summary)
    assert report.requests > 100, summary
    distinct = {(f.operation, f.status, f.detail[:60]): f for f in report.findings}
    assert not report.findings, "\n".join(
        f"{f.operation} -> {f.status}: {f.detail}" for f in list(distinct.values())[:40]
    )
