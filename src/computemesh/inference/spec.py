"""What the engine needs to know about one model: its id, its file and how to serve it."""

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ModelKind(StrEnum):
    """What a model answers: generation (chat and completions) or embeddings."""

    CHAT = "chat"
    EMBEDDING = "embedding"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model to serve.

    ``chat_template`` names a llama.cpp built-in template (``"chatml"``) or is ``None`` to
    use the one stored in the GGUF file.
    """

    model_id: str
    path: Path
    kind: ModelKind = ModelKind.CHAT
    chat_template: str | None = None
