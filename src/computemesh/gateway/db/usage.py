"""Usage records: written in batches, idempotently; read back as per-day totals.

A write that fails raises ``StorageUnavailable`` (the database failed: retry) or
``RecordRejected`` (it refused the data: retrying cannot help). A refused record
can be set aside in ``usage_dead_letters``, written so that any text fits there.
"""

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.db.faults import classify
from computemesh.gateway.db.records import UsageRecord, UsageTotal
from computemesh.gateway.db.tables import usage_dead_letters, usage_records


class UsageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_batch(self, records: Sequence[UsageRecord]) -> None:
        """Insert every record once: a record already stored (a retried batch) is skipped."""
        if not records:
            return
        await self._insert(usage_records, [_row(record) for record in records])

    async def set_aside(self, record: UsageRecord, reason: str) -> None:
        """Keep a record the database refused in ``usage_dead_letters`` (once, by its id)."""
        row = {
            "id": record.id,
            "record": dead_letter_text(record),
            "reason": json.dumps(reason)[1:-1],  # ASCII-escaped, like the record
            "set_aside_at": datetime.now(UTC),
        }
        await self._insert(usage_dead_letters, [row])

    async def dead_letters(self) -> dict[str, dict[str, Any]]:
        """Every record set aside, by id, as it was accepted (for audits and tests)."""
        query = sa.select(usage_dead_letters.c.id, usage_dead_letters.c.record)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {row.id: json.loads(row.record) for row in rows}

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

    async def _insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows whose ids are new; a failure comes out classified (retry or refused)."""
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing(index_elements=["id"])
        try:
            async with self._engine.begin() as conn:
                await conn.execute(statement, rows)
        except Exception as error:
            raise await classify(self._engine, error) from error


def dead_letter_text(record: UsageRecord) -> str:
    """The record as JSON in ASCII: NUL and unpaired surrogates become ``\\u`` escapes."""
    fields = dataclasses.asdict(record)
    fields["created_at"] = record.created_at.isoformat()
    return json.dumps(fields, ensure_ascii=True, sort_keys=True)


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
