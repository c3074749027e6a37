"""The seed's model list, built from a node's OCF table (``GET /v1/dnt/table``)."""

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from computemesh.gateway.upstream.client import NodeClient

TABLE_PATH = "/v1/dnt/table"
CACHE_S = 2.0  # model lists are read often and change slowly
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

    async def models(self) -> list[ModelInfo]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < CACHE_S:
            return self._cached[1]
        table = await self._nodes.get_json(TABLE_PATH)
        found = models_from_table(table, self._blockchain, self._price)
        self._cached = (now, found)
        return found


def models_from_table(table: object, blockchain: str, price: str) -> list[ModelInfo]:
    """One entry per model id, from the first online service that offers it."""
    seen: dict[str, ModelInfo] = {}
    peers = table.values() if isinstance(table, dict) else []
    for peer in peers:
        if not isinstance(peer, dict):
            continue
        for service in peer.get("service") or []:
            if not isinstance(service, dict) or service.get("status", "connected") not in UP:
                continue
            for info in _offered(peer, service, blockchain, price):
                seen.setdefault(info.id, info)
    return list(seen.values())


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
            tags=[_tag(str(service.get("name", "")))],
            hugging_face_id=groups.get("hf"),
        )
        for model in _values(entries, "model")
    ]


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


def _tag(service_name: str) -> str:
    return "embeddings" if "embed" in service_name.lower() else "text-generation"
