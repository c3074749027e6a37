"""``/health``, ``/``, ``/v1/models`` and the three inference endpoints of the OffGrid API."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from computemesh import __version__
from computemesh.node.api.deps import State
from computemesh.node.api.openai.errors import model_not_found
from computemesh.node.api.openai.relay import relay
from computemesh.node.api.state import NodeState
from computemesh.protocol.openai import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ModelCard,
    ModelList,
)
from computemesh.routing.catalog import CHAT_KIND, EMBEDDING_KIND, MeshModel, mesh_models

NAME = "computemesh"
router = APIRouter(tags=["openai"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}


@router.get("/")
async def root() -> dict[str, str]:
    return {"name": NAME, "version": __version__, "status": "running"}


def _online(state: NodeState) -> list[MeshModel]:
    models = mesh_models(state.rows())
    return [model for model in models.values() if model.online]


def _card(model: MeshModel) -> ModelCard:
    return ModelCard(id=model.id, created=model.created, owned_by=NAME)


@router.get("/v1/models", response_model=ModelList)
async def list_models(state: State) -> ModelList:
    """Every model an online node of the mesh serves now."""
    return ModelList(data=[_card(model) for model in _online(state)])


@router.get("/v1/models/{model_id:path}", response_model=None)
async def get_model(model_id: str, state: State) -> Any:
    found = next((m for m in _online(state) if m.id == model_id), None)
    return model_not_found(model_id) if found is None else _card(found)


@router.post("/v1/chat/completions")
async def chat_completions(request: Request, state: State) -> Response:
    return await relay(request, state, ChatCompletionRequest, CHAT_KIND)


@router.post("/v1/completions")
async def completions(request: Request, state: State) -> Response:
    return await relay(request, state, CompletionRequest, CHAT_KIND, completion_ids=True)


@router.post("/v1/embeddings")
async def embeddings(request: Request, state: State) -> Response:
    return await relay(request, state, EmbeddingRequest, EMBEDDING_KIND)
