"""Users, one per wallet address."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.db.clock import utc
from computemesh.gateway.db.records import User
from computemesh.gateway.db.tables import users


class UserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, user_id: str) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def get_or_create(self, address: str) -> User:
        """The user for ``address``, created on first login (safe under concurrent logins)."""
        found = await self._by_address(address)
        if found is not None:
            return found
        now = datetime.now(UTC)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    users.insert().values(
                        id=str(uuid.uuid4()), address=address, created_at=now, updated_at=now
                    )
                )
        except IntegrityError:
            pass  # another request created it first; read theirs
        created = await self._by_address(address)
        assert created is not None
        return created

    async def _by_address(self, address: str) -> User | None:
        async with self._engine.connect() as conn:
            query = sa.select(users).where(users.c.address == address)
            row = (await conn.execute(query)).first()
        return _user(row) if row else None


def _user(row: sa.Row[tuple[str, str, datetime, datetime]]) -> User:
    return User(id=row.id, address=row.address, created_at=utc(row.created_at))
