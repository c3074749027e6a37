"""The model list read from a real ``computemesh node`` process's OCF table."""

import time
from pathlib import Path

import pytest

from computemesh.cli.localmesh import LocalNode
from tests.gateway import harness
from tests.gateway.conftest import MakeClient

OWNER = "0x00000000000000000000000000000000000000bb"


@pytest.mark.slow
def test_models_come_from_a_real_node_table(
    make_client: MakeClient, upstream: harness.Process, tmp_path: Path
) -> None:
    args = ["--standalone", "--service", f"llm={upstream.url}"]
    args += ["--identity-group", "llm:model=tiny-chat", "--owner", OWNER]
    node = LocalNode(tmp_path / "node", args=args)
    try:
        node.start().wait_healthy()
        client = make_client(ocf_head_url=[node.url])
        deadline = time.monotonic() + 30
        models = []
        while time.monotonic() < deadline and not models:
            models = client.get("/api/models/public").json()
            time.sleep(0.2)  # the node marks the service online after its first probe
        [model] = models
        assert model["id"] == model["name"] == "tiny-chat"
        assert model["author"] == OWNER
        assert model["description"].startswith("AI model available on ")
        assert model["tags"] == ["text-generation"]
    finally:
        node.kill()
