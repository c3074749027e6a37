"""The models the mesh offers, read from the ``model=`` identity groups of the table.

A model is *known* while any live record claims it, and *online* while an online
node offers it through a healthy service: a request for an unknown model is a 404,
one for a known model with no online provider a 503.

A provider may also say what a model answers with an entry ``<kind>=<id>``
(``chat=X``, ``embedding=Y``); the local engine always does. A model with such
marks is asked only for those kinds, so an embeddings request to a chat model is a
clear 400 rather than an engine error. Unmarked models (a registered upstream
whose operator said nothing) may be asked anything.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from computemesh.registry.view import PeerRow

LLM_SERVICE = "llm"
MODEL_KEY = "model"
CHAT_KIND = "chat"
EMBEDDING_KIND = "embedding"
KINDS = (CHAT_KIND, EMBEDDING_KIND)


@dataclass(frozen=True)
class MeshModel:
    id: str
    online: bool
    created: int  # when the oldest record claiming it was signed (unix seconds)
    kinds: frozenset[str] = frozenset()  # empty: no provider said, so anything may be asked

    def answers(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


def mesh_models(rows: Iterable[PeerRow], service: str = LLM_SERVICE) -> dict[str, MeshModel]:
    """Every model claimed for ``service``, by id, sorted by id."""
    found: dict[str, MeshModel] = {}
    for row in rows:
        for claim in row.claims.services:
            if claim.name != service:
                continue
            online = row.online and claim.status == "online"
            kinds, signed = _kinds(claim.identity_group), int(row.claims.issued_at)
            for model in _values(claim.identity_group, MODEL_KEY):
                claimed = MeshModel(model, online, signed, kinds.get(model, _NONE))
                found[model] = _merge(found.get(model), claimed)
    return dict(sorted(found.items()))


_NONE: frozenset[str] = frozenset()


def _values(identity_group: Iterable[str], wanted: str) -> list[str]:
    pairs = (entry.partition("=") for entry in identity_group)
    return [value for key, _, value in pairs if key == wanted and value]


def _kinds(identity_group: Iterable[str]) -> dict[str, frozenset[str]]:
    """Model id → the kinds this service's marks give it."""
    kinds: dict[str, frozenset[str]] = {}
    for kind in KINDS:
        for model in _values(identity_group, kind):
            kinds[model] = kinds.get(model, _NONE) | {kind}
    return kinds


def _merge(seen: MeshModel | None, claimed: MeshModel) -> MeshModel:
    if seen is None:
        return claimed
    # One unmarked provider makes the model unmarked: it may answer anything.
    kinds = seen.kinds | claimed.kinds if seen.kinds and claimed.kinds else _NONE
    return MeshModel(
        claimed.id, seen.online or claimed.online, min(seen.created, claimed.created), kinds
    )
