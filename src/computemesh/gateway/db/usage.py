"""Usage records: written in batches, idempotently; read back as per-day totals."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.db.records import UsageRecord, UsageTotal
from computemesh.gateway.db.tables import usage_records


class UsageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_batch(self, records: Sequence[UsageRecord]) -> None:
        """Insert every record once: a record already stored (a retried batch) is skipped."""
        if not records:
            return
        rows = [_row(record) for record in records]
        async with self._engine.begin() as conn:
            await conn.execute(self._insert_ignoring_duplicates(), rows)

    async def totals(
        self, user_id: str, since: str | None = None, until: str | None = None
    ) -> list[UsageTotal]:
        """Per day, per key, per model, for one user (days as ``YYYY-MM-DD``, inclusive)."""
        table = usage_records
        query = (
            sa.select(
                table.c.day,
                table.c.api_key_id,
                table.c.model,
                sa.func.count().label("requests"),
                sa.func.sum(table.c.prompt_tokens).label("prompt_tokens"),
                sa.func.sum(table.c.completion_tokens).label("completion_tokens"),
            )
            .where(table.c.user_id == user_id)
            .group_by(table.c.day, table.c.api_key_id, table.c.model)
            .order_by(table.c.day, table.c.api_key_id, table.c.model)
        )
        if since:
            query = query.where(table.c.day >= since)
        if until:
            query = query.where(table.c.day <= until)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            UsageTotal(
                day=row.day,
                api_key_id=row.api_key_id,
                model=row.model,
                requests=int(row.requests),
                prompt_tokens=int(row.prompt_tokens or 0),
                completion_tokens=int(row.completion_tokens or 0),
            )
            for row in rows
        ]

    async def ids(self) -> set[str]:
        """Every stored record id (for audits and tests)."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(usage_records.c.id))).all()
        return {row.id for row in rows}

    def _insert_ignoring_duplicates(self) -> Any:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(usage_records).on_conflict_do_nothing(index_elements=["id"])
        return sqlite.insert(usage_records).on_conflict_do_nothing(index_elements=["id"])


def _row(record: UsageRecord) -> dict[str, Any]:
    created: datetime = record.created_at
    return {
        "id": record.id,
        "user_id": record.user_id,
        "api_key_id": record.api_key_id,
        "model": record.model[:200],
        "node": record.node[:128],
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "latency_ms": record.latency_ms,
        "status": record.status,
        "streamed": record.streamed,
        "created_at": created,
        "day": created.strftime("%Y-%m-%d"),
    }
