"""The models the mesh offers, read from the ``model=`` identity groups of the table.

A model is *known* while any live record claims it, and *online* while an online
node offers it through a healthy service: a request for an unknown model is a 404,
one for a known model with no online provider a 503.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from computemesh.registry.view import PeerRow

LLM_SERVICE = "llm"
MODEL_KEY = "model"


@dataclass(frozen=True)
class MeshModel:
    id: str
    online: bool
    created: int  # when the oldest record claiming it was signed (unix seconds)


def mesh_models(rows: Iterable[PeerRow], service: str = LLM_SERVICE) -> dict[str, MeshModel]:
    """Every model claimed for ``service``, by id, sorted by id."""
    found: dict[str, MeshModel] = {}
    for row in rows:
        for claim in row.claims.services:
            if claim.name != service:
                continue
            online = row.online and claim.status == "online"
            for model in _models(claim.identity_group):
                found[model] = _merge(found.get(model), model, online, int(row.claims.issued_at))
    return dict(sorted(found.items()))


def _models(identity_group: Iterable[str]) -> list[str]:
    pairs = (entry.partition("=") for entry in identity_group)
    return [value for key, _, value in pairs if key == MODEL_KEY and value]


def _merge(seen: MeshModel | None, model: str, online: bool, created: int) -> MeshModel:
    if seen is None:
        return MeshModel(model, online, created)
    return MeshModel(model, seen.online or online, min(seen.created, created))
