"""Login nonces: stored so any replica can verify, deleted on use so each works once.

Every unexpired nonce of an address stays usable, however many others were issued
for it since: nobody can push a wallet's message out by asking for more. How many
can be outstanding is bounded by the issuance rate limits (``api.deps``).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.db.clock import utc
from computemesh.gateway.db.records import LoginNonce
from computemesh.gateway.db.tables import login_nonces


class NonceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, nonce: LoginNonce) -> None:
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            await conn.execute(login_nonces.delete().where(login_nonces.c.expires_at < now))
            await conn.execute(
                login_nonces.insert().values(
                    nonce=nonce.nonce,
                    address=nonce.address,
                    message=nonce.message,
                    chain_id=nonce.chain_id,
                    expires_at=nonce.expires_at,
                )
            )

    async def outstanding(self, address: str) -> list[LoginNonce]:
        """Every unexpired nonce issued for ``address``, newest first."""
        query = (
            sa.select(login_nonces)
            .where(login_nonces.c.address == address)
            .where(login_nonces.c.expires_at > datetime.now(UTC))
            .order_by(login_nonces.c.expires_at.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            LoginNonce(
                nonce=row.nonce,
                address=row.address,
                message=row.message,
                chain_id=row.chain_id,
                expires_at=utc(row.expires_at),
            )
            for row in rows
        ]

    async def consume(self, nonce: str) -> bool:
        """Delete the nonce; True only for the one caller that deleted it (single use)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(login_nonces.delete().where(login_nonces.c.nonce == nonce))
        return result.rowcount == 1
