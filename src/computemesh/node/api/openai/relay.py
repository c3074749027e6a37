"""One inference request: validate, find the model in the mesh, dispatch, stream back.

Streams always ask the provider for ``stream_options.include_usage``, so the node reads
every answer's ``usage`` for its meter; the usage chunk (``choices: []``) reaches only
clients that asked for it themselves (``answers``). Other fields pass through untouched;
the answer's events are relayed as they come, never re-encoded.
"""

import json
import time
from functools import partial
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from computemesh.node.api.forward.responses import ForwardedResponse
from computemesh.node.api.metrics.answers import answered
from computemesh.node.api.openai.answers import AnswerEdit, EditedResponse, answer_edit
from computemesh.node.api.openai.errors import model_not_found, wrong_kind
from computemesh.node.api.openai.upstream_errors import reshaped_error
from computemesh.node.api.state import NodeState
from computemesh.protocol.openai_errors import parse_request
from computemesh.routing.catalog import LLM_SERVICE, MODEL_KEY
from computemesh.routing.forwarder import Outbound
from computemesh.routing.headers import end_to_end


async def relay(
    request: Request,
    state: NodeState,
    schema: type[BaseModel],
    kind: str,
    *,
    completion_ids: bool = False,
) -> Response:
    """Answer ``request`` (a POST to ``request.url.path``) from a provider of its model.

    ``kind`` is what the endpoint asks of the model (``chat`` or ``embedding``);
    ``completion_ids`` gives answer ids OpenAI's ``cmpl-`` prefix of text completions.
    """
    started = time.monotonic()
    raw = await request.body()
    parsed = parse_request(schema, raw)
    model = str(getattr(parsed, MODEL_KEY))
    # Only the records that claim this model: a catalog of the whole mesh per request
    # grew with the mesh.
    known = state.mesh_model(model)
    if known is None:
        return model_not_found(model)
    if not known.answers(kind):
        return wrong_kind(model, kind)
    document = json.loads(raw)
    asked_for_usage = _asks_for_usage(parsed)
    outbound = Outbound(
        method="POST",
        path=request.url.path,
        query=b"",
        headers=_headers(request),
        body=json.dumps(_with_usage(document)).encode(),
    )
    deadline = time.monotonic() + state.timeouts.total
    # The kind field steers past providers that mark the model as another kind.
    fields = {MODEL_KEY: model, kind: model}
    # A client that leaves cancels this handler (the node's server does), dispatch included.
    forwarded = await state.dispatcher.dispatch(LLM_SERVICE, outbound, fields, deadline)
    if forwarded.status >= 400:
        return await reshaped_error(forwarded)
    edit = answer_edit(forwarded, completion_ids=completion_ids, asked_for_usage=asked_for_usage)
    forwarded.on_close(partial(_ended, state, model, started, edit))
    return ForwardedResponse(forwarded) if edit is None else EditedResponse(forwarded, edit)


def _ended(state: NodeState, model: str, started: float, edit: AnswerEdit | None) -> None:
    usage = edit.usage if edit else None
    state.usage.record(model, usage)
    answered(state.metrics, model, started, edit.first_token_at if edit else None, usage)


def _asks_for_usage(parsed: BaseModel) -> bool:
    options = getattr(parsed, "stream_options", None)
    return bool(getattr(options, "include_usage", False))


def _with_usage(document: dict[str, Any]) -> dict[str, Any]:
    if document.get("stream") is True:
        options = document.get("stream_options") or {}
        document["stream_options"] = {**options, "include_usage": True}
    return document


def _headers(request: Request) -> list[tuple[str, str]]:
    # The body is re-encoded as JSON whatever the client labelled it (curl -d says form).
    kept = [(k, v) for k, v in end_to_end(request.headers.items()) if k != "content-type"]
    return [*kept, ("content-type", "application/json")]
