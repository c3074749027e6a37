"""Which providers can serve a request: online, offering the service, matching its identity.

A service's identity group (``model=gpt2``, ...) names what it serves. A request
matches when, for the keys it carries among those the group names, one value is
the request's; a request that names none of them (``GET /v1/models``) can go to any
provider of the service, and a service with no identity group serves everything.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from computemesh.ids import PeerId
from computemesh.protocol.mesh import ServiceClaim
from computemesh.registry.view import PeerRow

Fields = Mapping[str, str]


@dataclass(frozen=True)
class Candidate:
    peer: PeerId
    is_local: bool
    reported_load: int
    ping_ms: float | None


def request_fields(body: bytes, query: bytes) -> dict[str, str]:
    """Top-level scalar fields of a JSON object body, then query parameters."""
    fields = dict(parse_qsl(query.decode("latin-1")))
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return fields
        if isinstance(parsed, dict):
            fields.update({k: _text(v) for k, v in parsed.items() if _is_scalar(v)})
    return fields


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def matches(identity_group: Iterable[str], fields: Fields) -> bool:
    wanted: dict[str, set[str]] = {}
    for entry in identity_group:
        key, _, value = entry.partition("=")
        wanted.setdefault(key, set()).add(value)
    asked = [key for key in wanted if key in fields]
    return all(fields[key] in wanted[key] for key in asked)


def serves(claim: ServiceClaim, service: str, fields: Fields) -> bool:
    return (
        claim.name == service and claim.status == "online" and matches(claim.identity_group, fields)
    )


def find_candidates(rows: Iterable[PeerRow], service: str, fields: Fields) -> list[Candidate]:
    return [
        Candidate(
            peer=row.claims.peer_id,
            is_local=row.is_self,
            reported_load=row.claims.load,
            ping_ms=row.observation.latency_ms,
        )
        for row in rows
        if row.online and any(serves(claim, service, fields) for claim in row.claims.services)
    ]
