"""The packaged SmolLM2 answering across the mesh, as ``make demo`` shows it (slow)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from computemesh.cli.localmesh import LocalNode, wait_until

pytestmark = pytest.mark.slow
MODEL = "SmolLM2-135M-Instruct"


@pytest.fixture
def entry(tmp_path: Path) -> Iterator[tuple[LocalNode, LocalNode]]:
    provider = LocalNode(tmp_path / "p", args=["--public-addr", "127.0.0.1", "--default-model"])
    nodes = [provider]
    try:
        provider.start().wait_healthy(120)
        entry = LocalNode(tmp_path / "e", args=["--bootstrap", provider.bootstrap_addr()])
        nodes.append(entry.start().wait_healthy(60))
        yield provider, entry
    finally:
        for node in nodes:
            node.kill()


def test_smollm2_answers_paris_through_a_node_without_a_model(
    entry: tuple[LocalNode, LocalNode],
) -> None:
    provider, node = entry
    client = OpenAI(base_url=f"{node.url}/v1", api_key="unused", max_retries=0, timeout=120)
    assert wait_until(lambda: MODEL in {m.id for m in client.models.list()}, 60)
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=32,
    )
    assert raw.headers["x-computing-node"] == provider.peer_id
    reply = raw.parse()
    assert "Paris" in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
