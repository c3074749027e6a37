"""Plain records that cross the storage boundary (no SQLAlchemy types leak out)."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    id: str
    address: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    user_id: str
    name: str
    key_hash: str
    created_at: datetime
    last_used: datetime | None
    is_active: bool


@dataclass(frozen=True, slots=True)
class LoginNonce:
    nonce: str
    address: str
    message: str
    chain_id: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One inference request, as metered. ``id`` is unique: a re-sent batch never counts twice."""

    id: str
    user_id: str | None
    api_key_id: str | None
    model: str
    node: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    status: int
    created_at: datetime
    streamed: bool


@dataclass(frozen=True, slots=True)
class UsageTotal:
    day: str
    api_key_id: str | None
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
