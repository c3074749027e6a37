"""The endpoints OffGrid's API announced: ``/v1/stats``, ``/v1/peers``, ``/v1/import``.

- ``GET /v1/stats``: uptime, answers and tokens, resource use (``stats``).
- ``GET /v1/peers``: the other online nodes of the mesh, each in the shape OffGrid's web
  UI reads (``ID``, ``Address``, ``Port``, ``LastSeen``, ``Models``) and the one its
  Python SDK documents (``node_id``, ``address``, ``models``, ``last_seen``). Address and
  port are the node's mesh (libp2p) address. A standalone server has none: ``[]``.
- ``POST /v1/import`` (operator only): serve a GGUF file of this machine, a model
  brought on a USB stick, without a restart (``node.local_engine``).
"""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from computemesh.errors import ModelLoadError
from computemesh.node.api.deps import State
from computemesh.node.api.openai.errors import openai_error
from computemesh.node.api.openai.stats import stats_body
from computemesh.node.api.operator import require_operator
from computemesh.protocol.openai import ModelImport
from computemesh.protocol.openai_errors import error_body, parse_request
from computemesh.registry.view import PeerRow
from computemesh.routing.catalog import LLM_SERVICE, mesh_models

router = APIRouter(prefix="/v1", tags=["offgrid"])
NAME = "computemesh"  # owned_by of a model card, as /v1/models says
BAD_PATH = ("invalid_request_error", "invalid_parameter", "path")


@router.get("/stats")
async def stats(state: State) -> dict[str, Any]:
    """Server statistics and resource use, as OffGrid's ``/v1/stats``."""
    return stats_body(state)


@router.get("/peers")
async def peers(state: State) -> list[dict[str, Any]]:
    """The other online nodes of the mesh and the models each serves."""
    rows = state.rows()
    return [_peer(row) for row in rows if row.online and not row.is_self]


def _peer(row: PeerRow) -> dict[str, Any]:
    address, port = _host_port(row.claims.addresses)
    address = row.claims.public_address or address
    models = [model.id for model in mesh_models([row]).values() if model.online]
    seen = row.observation.last_seen
    return {
        "ID": row.claims.peer_id,
        "Address": address,
        "Port": port,
        "LastSeen": datetime.fromtimestamp(seen, UTC).isoformat(timespec="seconds"),
        "Models": models,
        "node_id": row.claims.peer_id,
        "address": f"{address}:{port}" if address else "",
        "models": models,
        "last_seen": int(seen),
    }


def _host_port(addresses: tuple[str, ...]) -> tuple[str, int]:
    """Host and TCP port of the first ``/ip4|ip6/<host>/tcp/<port>`` address."""
    for addr in addresses:
        parts = addr.split("/")  # "", "ip4", host, "tcp", port, ...
        if len(parts) > 4 and parts[1] in ("ip4", "ip6") and parts[3] == "tcp":
            return parts[2], int(parts[4]) if parts[4].isdigit() else 0
    return "", 0


IMPORT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": ModelImport.model_json_schema()}},
}


@router.post(
    "/import",
    dependencies=[Depends(require_operator)],
    openapi_extra={"requestBody": IMPORT_BODY},
)
async def import_model(request: Request, state: State) -> Any:
    """Serve a GGUF file of this machine (copied into the models folder first)."""
    wanted = parse_request(ModelImport, await request.body())
    source = Path(wanted.path)
    if not source.is_absolute():  # relative to what? the node's directory is no answer
        body = error_body(f"path must be absolute, got {wanted.path!r}", *BAD_PATH)
        return JSONResponse(body, status_code=400)
    model_id = wanted.name or source.stem
    if state.local_models.serves(model_id):
        message = f"model {model_id} is already served here; give another name"
        return openai_error(409, message, "model_exists")
    if not state.can_add_models(LLM_SERVICE):
        message = f"service {LLM_SERVICE} here has no identity group, so it claims every model"
        return openai_error(409, message, "service_claims_every_model")
    try:
        entries = await state.local_models.import_file(source, model_id)
    except ModelLoadError as error:
        return _cannot_import(error)
    state.add_models(LLM_SERVICE, entries)
    card = {
        "id": model_id,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "computemesh",
    }
    folder = str(state.local_models.folder)
    return {"status": "success", "imported_count": 1, "model": card, "models_dir": folder}


def _cannot_import(error: ModelLoadError) -> JSONResponse:
    missing = isinstance(error.__cause__, FileNotFoundError)
    code = "file_not_found" if missing else "invalid_model_file"
    body = error_body(str(error), "invalid_request_error", code, param="path")
    return JSONResponse(body, status_code=400)
