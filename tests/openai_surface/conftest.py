"""A real three-node mesh for the OpenAI surface, started once per module.

- ``chat``: serves two chat models from a models folder (the tiny random GGUF twice,
  ``tiny-chat`` and ``tiny-other``), one thread each;
- ``embed``: serves the packaged all-MiniLM-L6-v2 (converted once per session);
- ``entry``: serves no model itself, plus a dead upstream claiming ``ghost`` (known to
  the mesh, never online: the 503 case).

``pair`` is a lighter mesh for one module: ``provider`` serves both tiny chat models and
``entry`` none, so every answer crosses the entry's relay.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from computemesh.cli.localmesh import LocalNode, free_port, wait_until
from computemesh.inference.embedding_model import packaged_embedding_model
from tests.fixtures.tiny_gguf import write_tiny_gguf

CHAT_MODELS = ("tiny-chat", "tiny-other")
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
GHOST_MODEL = "ghost"
CONVERGE_S = 60.0
LIGHT = ("--threads", "1", "--parallel", "2", "--ctx-size", "512")


@dataclass
class Pair:
    provider: LocalNode
    entry: LocalNode


@dataclass
class Mesh:
    chat: LocalNode
    embed: LocalNode
    entry: LocalNode


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    model = write_tiny_gguf(folder / f"{CHAT_MODELS[0]}.gguf")
    (folder / f"{CHAT_MODELS[1]}.gguf").write_bytes(model.read_bytes())
    return folder


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    packaged_embedding_model(cache)  # convert once; every node started after reuses it
    return cache


def _model_states(node: LocalNode) -> dict[str, str]:
    return {
        group.partition("=")[2]: service["status"]
        for peer in node.table().values()
        for service in peer["service"]
        for group in service["identity_group"]
    }


def _ready(entry: LocalNode) -> bool:
    states = _model_states(entry)
    online = [*CHAT_MODELS, EMBEDDING_MODEL]
    up = all(states.get(m) == "connected" for m in online)
    return up and states.get(GHOST_MODEL) == "disconnected"


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedding_cache: Path
) -> Iterator[Mesh]:
    root = tmp_path_factory.mktemp("mesh")
    nodes: list[LocalNode] = []

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> LocalNode:
        node = LocalNode(root / name, args=list(args), env=env or {})
        nodes.append(node.start())
        return node.wait_healthy(60)

    try:
        chat = start("chat", "--public-addr", "127.0.0.1", "--models-dir", str(models_dir), *LIGHT)
        bootstrap = ("--bootstrap", chat.bootstrap_addr())
        cache_env = {"COMPUTEMESH_ENGINE__CACHE_DIR": str(embedding_cache)}
        embed = start("embed", *bootstrap, "--embeddings", *LIGHT, env=cache_env)
        dead = f"llm=http://127.0.0.1:{free_port()}"
        ghost = ("--service", dead, "--identity-group", f"llm:model={GHOST_MODEL}")
        entry = start("entry", *bootstrap, *ghost)
        assert wait_until(lambda: _ready(entry), CONVERGE_S), _model_states(entry)
        yield Mesh(chat, embed, entry)
    finally:
        for node in nodes:
            node.kill()


def _chat_online(entry: LocalNode) -> bool:
    return all(_model_states(entry).get(model) == "connected" for model in CHAT_MODELS)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("pair")
    provider = LocalNode(root / "provider", args=["--public-addr", "127.0.0.1"])
    provider.args += ["--models-dir", str(models_dir), *LIGHT]
    nodes = [provider]
    try:
        provider.start().wait_healthy(60)
        entry = LocalNode(root / "entry", args=["--bootstrap", provider.bootstrap_addr()])
        nodes.append(entry.start().wait_healthy(60))
        assert wait_until(lambda: _chat_online(entry), CONVERGE_S), _model_states(entry)
        yield Pair(provider, entry)
    finally:
        for node in nodes:
            node.kill()


def served_by(response: httpx.Response) -> str:
    return response.headers["x-computing-node"]
