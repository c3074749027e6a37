"""OffGrid's announced endpoints on real processes: ``/v1/stats``, ``/v1/peers``, ``/v1/import``.

The import is a tiny GGUF on a "USB stick" (a folder outside the node's), served
without a restart and then called with the ``openai`` SDK, here and across the mesh.
"""

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from computemesh.cli.localmesh import LocalNode, free_port, wait_until
from tests.fixtures.tiny_gguf import write_tiny_gguf
from tests.integration.conftest import StartNode
from tests.integration.test_node_api import remote_client  # noqa: F401  (a fixture)
from tests.support.processes import UpstreamProcess, upstream

LIGHT = ("--threads", "1", "--parallel", "1", "--ctx-size", "256")
HELLO = [{"role": "user", "content": "Hello!"}]


def sdk(url: str) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=60)


def import_model(url: str, path: Path | str, **fields: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/import", json={"path": str(path), **fields}, timeout=120)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["message"]
    return error


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    stick = tmp_path / "usb"
    stick.mkdir()
    write_tiny_gguf(stick / "stick-model.gguf")
    (stick / "notes.gguf").write_text("not a model\n")
    return stick


def test_a_node_imports_a_gguf_and_serves_it_without_a_restart(
    start_node: StartNode, upstreams: list[UpstreamProcess], usb: Path
) -> None:
    entry = start_node("--public-addr", "127.0.0.1", *LIGHT)
    model = upstream(upstreams, "--name", "m", "--model", "peer-model")
    served = ("--service", f"llm={model.url}", "--identity-group", "llm:model=peer-model")
    peer = start_node("--bootstrap", entry.bootstrap_addr(), *served)
    assert wait_until(lambda: len(entry.table()) == 2, 30)

    imported = import_model(entry.url, usb / "stick-model.gguf")
    assert imported.status_code == 200, imported.text
    assert imported.json()["model"]["id"] == "stick-model"
    assert (entry.data_dir / "models" / "stick-model.gguf").is_file()  # safe off the stick
    reply = sdk(entry.url).chat.completions.create(
        model="stick-model", messages=HELLO, max_tokens=3
    )
    assert reply.choices[0].finish_reason == "length"
    # the mesh learns of it at once: the peer's clients reach it too
    assert wait_until(lambda: "stick-model" in _model_ids(peer), 30)
    through_peer = sdk(peer.url).chat.completions.with_raw_response.create(
        model="stick-model", messages=HELLO, max_tokens=2
    )
    assert through_peer.headers["x-computing-node"] == entry.peer_id

    peers = entry.get("/v1/peers")
    assert [p["ID"] for p in peers] == [p["node_id"] for p in peers] == [peer.peer_id]
    assert peers[0]["Models"] == peers[0]["models"] == ["peer-model"]
    assert peers[0]["Address"] == "127.0.0.1"
    assert peers[0]["Port"] > 0

    stats = entry.get("/v1/stats")
    assert stats["inference"]["models"]["stick-model"]["total_requests"] == 1
    assert stats["inference"]["aggregate"]["total_tokens"] > 0
    assert stats["models"]["local"] == ["stick-model"]
    assert set(stats["models"]["mesh"]) == {"stick-model", "peer-model"}
    assert stats["resources"]["memory_total_mb"] > 0
    assert stats["system"]["cpu_cores"] > 0
    assert stats["server"]["uptime_seconds"] >= 0


def test_import_says_what_is_wrong(start_node: StartNode, usb: Path) -> None:
    node = start_node("--standalone", *LIGHT)
    missing = error_of(import_model(node.url, usb / "gone.gguf"), 400)
    assert (missing["code"], missing["param"]) == ("file_not_found", "path")
    assert "gone.gguf" in missing["message"]
    not_gguf = error_of(import_model(node.url, usb / "notes.gguf"), 400)
    assert not_gguf["code"] == "invalid_model_file"
    assert "not a GGUF file" in not_gguf["message"]
    assert error_of(import_model(node.url, "stick-model.gguf"), 400)["param"] == "path"
    assert error_of(import_model(node.url, usb / "x.gguf", name="../x"), 400)["param"] == "name"
    assert error_of(import_model(node.url, usb), 400)["code"] == "invalid_model_file"
    assert error_of(import_model(node.url, "/tmp/a\x00b.gguf"), 400)["param"] == "path"
    device = error_of(import_model(node.url, "/dev/zero"), 400)  # never read: not a file
    assert "not a regular file" in device["message"]

    assert import_model(node.url, usb / "stick-model.gguf").status_code == 200
    again = error_of(import_model(node.url, usb / "stick-model.gguf"), 409)
    assert again["code"] == "model_exists"
    renamed = import_model(node.url, usb / "stick-model.gguf", name="second")
    assert renamed.status_code == 200, renamed.text
    assert sorted(_model_ids(node)) == ["second", "stick-model"]
    assert node.get("/v1/peers") == []  # standalone: no mesh, no peers


async def test_only_the_operator_imports(
    remote_client: httpx.AsyncClient,  # noqa: F811  (the fixture imported above)
    usb: Path,
) -> None:
    body = {"path": str(usb / "stick-model.gguf")}
    denied = await remote_client.post("/v1/import", json=body)
    assert denied.status_code == 403
    assert "operator endpoint" in denied.json()["error"]["message"]  # OpenAI's shape
    assert (await remote_client.get("/v1/stats")).status_code == 200  # reading is public


def _model_ids(node: LocalNode) -> list[str]:
    return [model.id for model in sdk(node.url).models.list()]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    """``computemesh serve`` on a models folder holding one tiny model."""
    models = tmp_path / "models"
    models.mkdir()
    write_tiny_gguf(models / "offgrid-tiny.gguf")
    port = free_port()
    command = [
        sys.executable, "-m", "computemesh.cli", "serve", "--no-default-model",
        "--models-dir", str(models), "--port", str(port), "--data-dir", str(tmp_path / "key"),
        "--threads", "1", "--parallel", "1", "--ctx-size", "256",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _healthy(url), 60)
        yield url
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_has_stats_peers_and_import(serve: str, usb: Path, tmp_path: Path) -> None:
    assert httpx.get(f"{serve}/v1/peers").json() == []
    # as `curl -d '{"path": ...}'` sends it: labelled a urlencoded form
    body = json.dumps({"path": str(usb / "stick-model.gguf"), "name": "from-usb"})
    form = {"content-type": "application/x-www-form-urlencoded"}
    imported = httpx.post(f"{serve}/v1/import", content=body, headers=form, timeout=120)
    assert imported.status_code == 200, imported.text
    assert (tmp_path / "models" / "from-usb.gguf").is_file()  # the folder it serves from
    reply = sdk(serve).chat.completions.create(model="from-usb", messages=HELLO, max_tokens=2)
    assert reply.choices[0].message.content is not None
    stats = httpx.get(f"{serve}/v1/stats").json()
    assert stats["models"]["local"] == ["from-usb", "offgrid-tiny"]
    assert stats["inference"]["aggregate"]["total_requests"] == 1
