"""The node's local engine: started before the node joins, offered as service ``llm``.

Each loaded model becomes the identity-group entry ``model=<id>`` of service ``llm``,
served by its own llama.cpp server; :func:`registry.services.with_entries` keeps that
entry → URL map so a request for model X, from this node or a peer, reaches X's server.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from computemesh.config.node import NodeEngineSettings
from computemesh.inference import LoadProgress
from computemesh.routing.catalog import LLM_SERVICE

__all__ = ["LLM_SERVICE", "open_local_models"]


@asynccontextmanager
async def open_local_models(
    settings: NodeEngineSettings, progress: LoadProgress | None = None
) -> AsyncIterator[dict[str, str]]:
    """``{"model=<id>": base_url}`` of every model the settings ask for; empty if none."""
    if not settings.wanted:
        yield {}
        return
    from computemesh.inference import open_engine  # llama.cpp is loaded only when used

    async with open_engine(settings, progress=progress) as engine:
        yield {f"model={p.model_id}": p.base_url for p in engine.providers}
