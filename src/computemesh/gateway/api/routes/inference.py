"""OpenAI inference forwarded to a node: ``/api/v1/*`` with an API key, legacy ``/v1/*`` without.

The body models only check the fields the gateway reads (422 when they are wrong);
the node gets the request bytes as the client sent them.
"""

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from computemesh.gateway.api.deps import Admission, KeyLimited, LegacyLimited, StateDep
from computemesh.gateway.api.forwarding import Call, forward, models_list, proxy_get
from computemesh.gateway.api.schemas import ChatRequest, CompletionRequest, EmbeddingRequest
from computemesh.gateway.api.state import GatewayState
from computemesh.gateway.auth.principal import Principal

router = APIRouter(tags=["inference"])
legacy = APIRouter(tags=["legacy (no key unless configured)"])

CHAT, COMPLETIONS, EMBEDDINGS, MODELS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/models",
)


@router.post("/api" + CHAT)
async def chat(body: ChatRequest, request: Request, state: StateDep, who: KeyLimited) -> Response:
    return await _forward(state, who, body.model, request, CHAT)


@router.post("/api" + COMPLETIONS)
async def completions(
    body: CompletionRequest, request: Request, state: StateDep, who: KeyLimited
) -> Response:
    return await _forward(state, who, body.model, request, COMPLETIONS)


@router.post("/api" + EMBEDDINGS)
async def embeddings(
    body: EmbeddingRequest, request: Request, state: StateDep, who: KeyLimited
) -> Response:
    return await _forward(state, who, body.model, request, EMBEDDINGS)


@router.get("/api" + MODELS)
async def models(state: StateDep, who: KeyLimited) -> Response:
    return await _models(state, who)


@legacy.post(CHAT)
async def legacy_chat(
    body: ChatRequest, request: Request, state: StateDep, who: LegacyLimited
) -> Response:
    return await _forward(state, who, body.model, request, CHAT)


@legacy.post(COMPLETIONS)
async def legacy_completions(
    body: CompletionRequest, request: Request, state: StateDep, who: LegacyLimited
) -> Response:
    return await _forward(state, who, body.model, request, COMPLETIONS)


@legacy.post(EMBEDDINGS)
async def legacy_embeddings(
    body: EmbeddingRequest, request: Request, state: StateDep, who: LegacyLimited
) -> Response:
    return await _forward(state, who, body.model, request, EMBEDDINGS)


@legacy.get(MODELS)
async def legacy_models(state: StateDep, who: LegacyLimited) -> Response:
    return await _models(state, who)


async def _forward(
    state: GatewayState,
    who: tuple[Principal | None, Admission],
    model: str,
    request: Request,
    path: str,
) -> Response:
    raw = await request.body()  # already read (and cached) by the body model
    payload: dict[str, Any] = json.loads(raw)
    return await forward(Call(state, who[0], who[1], model), path, payload, raw)


async def _models(state: GatewayState, who: tuple[Principal | None, Admission]) -> Response:
    call = Call(state, who[0], who[1], model="")
    response = await proxy_get(call, MODELS)
    if response.status_code == 404:
        # A node without an OpenAI surface still has a table to read models from.
        return models_list([m.id for m in await state.catalog.models()], call)
    return response
