"""Create, list, deactivate and resolve API keys; ``last_used`` is kept behind the request.

A resolved key is remembered for ``cache_ttl`` seconds so a busy key costs no database
read per request. What deactivation guarantees:

- on the replica that did it, the next use is refused: the database write and
  dropping the key from memory both happen before ``deactivate`` returns;
- with Redis, the key id is also published (``auth.revocations``) before it returns,
  and every other replica forgets the key as the message arrives, milliseconds
  later: a use after that is refused anywhere;
- a replica not subscribed to those announcements (starting, or after noticing a lost
  link: a broken connection at once, a silent one within a few seconds) trusts nothing
  it remembered and reads the database, and forgets everything when subscribed again;
- without Redis, or if publishing fails, another replica that remembers the key
  refuses it within ``cache_ttl``.

Unknown keys are never remembered, so guessing cannot fill the memory.
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from computemesh.gateway.auth import api_keys
from computemesh.gateway.auth.principal import Principal
from computemesh.gateway.db import ApiKeyRecord, Database
from computemesh.gateway.errors import NotFound, Unauthorized

MAX_CACHED = 100_000


Announce = Callable[[str], Awaitable[None]]


class KeyService:
    def __init__(self, db: Database, cache_ttl: float = 0.0, announce: Announce | None = None):
        self._db = db
        self._cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Principal]] = {}  # key hash -> (until, principal)
        self._announce = announce
        # With announcements, nothing is trusted until the replica is subscribed.
        self._cache_trusted = announce is None
        # Bumped by every forget, so a lookup that raced a revocation is not remembered.
        self._generation = 0
        # Written with the next usage batch: a request never waits on this update.
        self._last_used: dict[str, datetime] = {}

    async def create(self, user_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """The stored record and the key itself, which is never stored or shown again."""
        key = api_keys.new_key()
        record = await self._db.keys.create(user_id, name, api_keys.key_hash(key))
        return record, key

    async def list(self, user_id: str) -> list[ApiKeyRecord]:
        keys = await self._db.keys.for_user(user_id)
        return [self._with_pending_last_used(key) for key in keys]

    async def deactivate(self, user_id: str, key_id: str) -> None:
        # Key ids are UUIDs made here; anything else (a NUL byte, say, which PostgreSQL
        # cannot even compare) names no key, and needs no query to say so.
        if not _is_uuid(key_id) or not await self._db.keys.deactivate(user_id, key_id):
            raise NotFound("API key not found")
        self.forget(key_id)
        if self._announce is not None:
            await self._announce(key_id)

    def forget(self, key_id: str) -> None:
        """Drop every remembered resolution of ``key_id`` (revoked here or elsewhere)."""
        self._generation += 1
        self._cache = {h: hit for h, hit in self._cache.items() if hit[1].api_key_id != key_id}

    def trust_cache(self, trusted: bool) -> None:
        """Called as the revocation subscription comes and goes; either way, start afresh."""
        self._generation += 1
        self._cache.clear()
        self._cache_trusted = trusted

    async def resolve(self, key: str) -> Principal:
        """The principal for an active key; Unauthorized for anything else."""
        principal = await self.find(key)
        if principal is None:
            raise Unauthorized("invalid API key")
        return principal

    async def find(self, key: str) -> Principal | None:
        """The principal for an active key, None for what is no key of this gateway;
        Unauthorized for a key that was deactivated."""
        if not api_keys.looks_like_key(key):
            return None
        digest = api_keys.key_hash(key)
        now = time.monotonic()
        cached = self._cache.get(digest) if self._cache_trusted else None
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            generation = self._generation
            found = await self._lookup(key, digest)
            if found is None:
                return None
            principal = found
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            if self._cache_ttl > 0 and self._cache_trusted and generation == self._generation:
                self._cache[digest] = (now + self._cache_ttl, principal)
        assert principal.api_key_id is not None
        self._last_used[principal.api_key_id] = datetime.now(UTC)
        return principal

    async def _lookup(self, key: str, digest: str) -> Principal | None:
        record = await self._db.keys.by_hash(digest)
        if record is None or not api_keys.matches(key, record.key_hash):
            return None
        if not record.is_active:
            raise Unauthorized("API key is deactivated")
        return Principal(user_id=record.user_id, api_key_id=record.id)

    async def flush_last_used(self) -> None:
        """Write the pending ``last_used`` stamps; on failure keep them for the next try."""
        pending, self._last_used = self._last_used, {}
        try:
            await self._db.keys.touch(pending)
        except Exception:
            for key_id, when in pending.items():
                self._last_used[key_id] = max(when, self._last_used.get(key_id, when))
            raise

    def _with_pending_last_used(self, key: ApiKeyRecord) -> ApiKeyRecord:
        pending = self._last_used.get(key.id)
        if pending is None or (key.last_used is not None and key.last_used >= pending):
            return key
        return ApiKeyRecord(
            id=key.id,
            user_id=key.user_id,
            name=key.name,
            key_hash=key.key_hash,
            created_at=key.created_at,
            last_used=pending,
            is_active=key.is_active,
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
