"""API keys, stored only as a hash and found by it."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.db.clock import utc, utc_or_none
from computemesh.gateway.db.records import ApiKeyRecord
from computemesh.gateway.db.tables import api_keys


class KeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, user_id: str, name: str, key_hash: str) -> ApiKeyRecord:
        record = ApiKeyRecord(
            id=str(uuid.uuid4()),
            user_id=user_id,
            name=name,
            key_hash=key_hash,
            created_at=datetime.now(UTC),
            last_used=None,
            is_active=True,
        )
        async with self._engine.begin() as conn:
            await conn.execute(api_keys.insert().values(**_columns(record)))
        return record

    async def by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        async with self._engine.connect() as conn:
            query = sa.select(api_keys).where(api_keys.c.key_hash == key_hash)
            row = (await conn.execute(query)).first()
        return _key(row._mapping) if row else None

    async def for_user(self, user_id: str) -> list[ApiKeyRecord]:
        query = (
            sa.select(api_keys)
            .where(api_keys.c.user_id == user_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_key(row._mapping) for row in rows]

    async def deactivate(self, user_id: str, key_id: str) -> bool:
        """False when no such key belongs to the user."""
        statement = (
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.user_id == user_id)
            .values(is_active=False)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount > 0

    async def touch(self, last_used: Mapping[str, datetime]) -> None:
        """Move ``last_used`` forward (never back) for many keys in one transaction."""
        if not last_used:
            return
        async with self._engine.begin() as conn:
            for key_id, when in last_used.items():
                await conn.execute(
                    api_keys.update()
                    .where(
                        api_keys.c.id == key_id,
                        sa.or_(api_keys.c.last_used.is_(None), api_keys.c.last_used < when),
                    )
                    .values(last_used=when)
                )


def _columns(record: ApiKeyRecord) -> dict[str, Any]:
    return {field: getattr(record, field) for field in record.__dataclass_fields__}


def _key(row: sa.RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        key_hash=row["key_hash"],
        created_at=utc(row["created_at"]),
        last_used=utc_or_none(row["last_used"]),
        is_active=bool(row["is_active"]),
    )
