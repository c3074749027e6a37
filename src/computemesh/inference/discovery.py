"""Find the models to serve: GGUF files in a folder plus the packaged defaults."""

from pathlib import Path

import gguf

from computemesh.config.engine import EngineSettings
from computemesh.errors import ModelLoadError
from computemesh.inference.embedding_model import packaged_embedding_model
from computemesh.inference.packaged import (
    SMOLLM2_DISTRIBUTION,
    SMOLLM2_FILE,
    default_chat_model,
)
from computemesh.inference.spec import ModelKind, ModelSpec

# Encoder-only architectures: llama.cpp serves them on /v1/embeddings, not for generation.
_EMBEDDING_ARCHITECTURES = frozenset({"bert", "nomic-bert", "jina-bert-v2", "jina-bert-v3"})
_GGUF_MAGIC = b"GGUF"


def check_gguf(path: Path) -> None:
    """Raise a ModelLoadError naming ``path`` unless it is a readable GGUF file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelLoadError(path, exc.strerror or str(exc)) from exc
    if magic != _GGUF_MAGIC:
        raise ModelLoadError(path, "not a GGUF file")


def model_kind(path: Path) -> ModelKind:
    """Read the architecture from the GGUF header (memory-mapped, nothing is loaded)."""
    try:
        field = gguf.GGUFReader(path).get_field("general.architecture")
    except (ValueError, OSError) as exc:
        raise ModelLoadError(path, f"unreadable GGUF header ({exc})") from exc
    architecture = field.contents() if field is not None else ""
    return ModelKind.EMBEDDING if architecture in _EMBEDDING_ARCHITECTURES else ModelKind.CHAT


def spec_of(path: Path, model_id: str | None = None) -> ModelSpec:
    """The spec of the GGUF file ``path`` (its id the file stem unless given), or a
    ModelLoadError saying what is wrong with the file."""
    check_gguf(path)
    return ModelSpec(model_id or path.stem, path, model_kind(path))


def models_in_dir(models_dir: Path) -> list[ModelSpec]:
    """Every ``*.gguf`` directly in ``models_dir``; the model id is the file stem."""
    if not models_dir.is_dir():
        raise ModelLoadError(models_dir, "models directory does not exist")
    return [spec_of(path) for path in sorted(models_dir.glob("*.gguf"))]


def _required(spec: ModelSpec | None) -> ModelSpec:
    if spec is None:
        raise ModelLoadError(
            SMOLLM2_FILE, f"package {SMOLLM2_DISTRIBUTION} is not installed (make installs it)"
        )
    return spec


def discover(settings: EngineSettings) -> list[ModelSpec]:
    """All models the settings ask for; a file in the folder wins over a packaged same id."""
    specs = models_in_dir(settings.models_dir) if settings.models_dir else []
    packaged = []
    if settings.serve_default_model:
        packaged.append(_required(default_chat_model()))
    if settings.embeddings:
        packaged.append(packaged_embedding_model(settings.cache_dir))
    taken = {spec.model_id for spec in specs}
    return specs + [spec for spec in packaged if spec.model_id not in taken]
