"""The OCF proxy API's model list, built from a node's OCF table (``GET /v1/dnt/table``).

Only what the gateway can forward is listed: models of online ``llm`` services, the
one service a node's ``/v1/*`` routes reach (a service of another name, OCF's
``triteia`` say, is reachable only through the node's own service forwarding). Each
model is tagged by what it answers, from the marks a node gives it beside ``model=X``:
``chat=X`` is ``text-generation``, ``embedding=X`` is ``embeddings``. A model nobody
marked (an upstream whose operator said nothing) may be asked anything, so it keeps
the OCF proxy API's ``text-generation``.
"""

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from computemesh.gateway.upstream.client import NodeClient

TABLE_PATH = "/v1/dnt/table"
CACHE_S = 2.0  # model lists are read often and change slowly
# The node's names (``routing.catalog``, which the gateway reaches over HTTP only).
LLM_SERVICE = "llm"
MODEL_KEY = "model"
TAG_OF_MARK = {"chat": "text-generation", "embedding": "embeddings"}
UNMARKED_TAGS = ("text-generation",)
# A service that is up: "connected" in OCF's words (nodes and computemesh's OCF view),
# "online" from computemesh nodes before they spoke OCF's.
UP = frozenset({"connected", "online"})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    description: str
    author: str
    blockchain: str
    price: str
    tags: list[str] = field(default_factory=list)
    hugging_face_id: str | None = None


class ModelCatalog:
    def __init__(self, nodes: NodeClient, blockchain: str, price: str) -> None:
        self._nodes = nodes
        self._blockchain = blockchain
        self._price = price
        self._cached: tuple[float, list[ModelInfo]] | None = None
        self._failed_at = -CACHE_S

    async def models(self) -> list[ModelInfo]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < CACHE_S:
            return self._cached[1]
        table = await self._nodes.get_json(TABLE_PATH)
        found = models_from_table(table, self._blockchain, self._price)
        self._cached = (now, found)
        return found

    async def knows(self, model: str) -> bool:
        """Whether ``model`` is in the list (False when the nodes cannot say: asked again
        only after ``CACHE_S``, so a node without a table costs no request per call)."""
        if time.monotonic() - self._failed_at < CACHE_S:
            return False
        try:
            found = await self.models()
        except Exception:
            self._failed_at = time.monotonic()
            return False
        return any(info.id == model for info in found)


def models_from_table(table: object, blockchain: str, price: str) -> list[ModelInfo]:
    """One entry per model id, described by the first online ``llm`` service offering it,
    tagged with what any of them serves."""
    seen: dict[str, ModelInfo] = {}
    peers = table.values() if isinstance(table, dict) else []
    for peer in peers:
        if not isinstance(peer, dict):
            continue
        for service in peer.get("service") or []:
            if not _forwardable(service):
                continue
            for info in _offered(peer, service, blockchain, price):
                seen[info.id] = _merged(seen.get(info.id), info)
    return list(seen.values())


def _forwardable(service: object) -> bool:
    return (
        isinstance(service, dict)
        and service.get("name") == LLM_SERVICE
        and service.get("status", "connected") in UP
    )


def _merged(seen: ModelInfo | None, offered: ModelInfo) -> ModelInfo:
    if seen is None:
        return offered
    tags = seen.tags + [tag for tag in offered.tags if tag not in seen.tags]
    return dataclasses.replace(seen, tags=tags)


def _offered(
    peer: dict[str, Any], service: dict[str, Any], blockchain: str, price: str
) -> list[ModelInfo]:
    """Every ``model=`` entry of one service: a node's engine offers all its models as one."""
    entries = service.get("identity_group") or []
    groups = _groups(entries)
    return [
        ModelInfo(
            id=model,
            description=f"AI model available on {_device(peer, service)}",
            author=str(peer.get("owner") or ""),
            blockchain=blockchain,
            price=groups.get("price", price),
            tags=_tags(entries, model),
            hugging_face_id=groups.get("hf"),
        )
        for model in _values(entries, MODEL_KEY)
    ]


def _tags(entries: list[Any], model: str) -> list[str]:
    tags = [tag for mark, tag in TAG_OF_MARK.items() if model in _values(entries, mark)]
    return tags or list(UNMARKED_TAGS)


def _values(entries: list[Any], key: str) -> list[str]:
    pairs = (str(entry).partition("=") for entry in entries)
    return [value for found, eq, value in pairs if eq and found == key and value]


def _groups(entries: list[Any]) -> dict[str, str]:
    pairs = (str(entry).partition("=") for entry in entries)
    return {key: value for key, eq, value in pairs if eq}


def _device(peer: dict[str, Any], service: dict[str, Any]) -> str:
    """``2x NVIDIA A100`` from the service's GPUs, else the node's, else ``CPU``."""
    gpus = (service.get("hardware") or {}).get("gpus") or (peer.get("hardware") or {}).get("gpus")
    names = Counter(str(gpu.get("name", "GPU")) for gpu in gpus or [] if isinstance(gpu, dict))
    if not names:
        return "CPU"
    return ", ".join(f"{count}x {name}" for name, count in names.most_common())
