"""The node's local engine: started before the node joins, offered as service ``llm``.

Each loaded model becomes the identity-group entries ``model=<id>`` and
``<kind>=<id>`` (``chat`` or ``embedding``, see ``routing.catalog``) of service ``llm``,
served by its own llama.cpp server; :func:`registry.services.with_entries` keeps that
entry → URL map so a request for model X, from this node or a peer, reaches X's server.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from computemesh.config.node import NodeEngineSettings
from computemesh.inference import LoadProgress
from computemesh.routing.catalog import LLM_SERVICE, MODEL_KEY

__all__ = ["LLM_SERVICE", "open_local_models"]


@asynccontextmanager
async def open_local_models(
    settings: NodeEngineSettings, progress: LoadProgress | None = None
) -> AsyncIterator[dict[str, str]]:
    """``{"model=<id>": base_url, "<kind>=<id>": base_url}`` of every model the settings
    ask for; empty if none."""
    if not settings.wanted:
        yield {}
        return
    from computemesh.inference import open_engine  # llama.cpp is loaded only when used

    async with open_engine(settings, progress=progress) as engine:
        entries: dict[str, str] = {}
        for provider in engine.providers:
            entries[f"{MODEL_KEY}={provider.model_id}"] = provider.base_url
            entries[f"{provider.kind.value}={provider.model_id}"] = provider.base_url
        yield entries
