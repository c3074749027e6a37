"""Write-behind usage: requests append to memory, one task writes batches every interval.

A request never waits on the database. What can be lost is bounded: on SIGKILL,
at most the records of the last flush interval (plus the flush in flight); on a
clean shutdown, nothing, since the app flushes before it exits. Each record has a
unique id and the insert skips ids already stored, so a batch retried after an
error is never counted twice.
"""

import asyncio
import logging

from computemesh.gateway.db import Database, UsageRecord

log = logging.getLogger(__name__)
MAX_BATCH = 5000


class UsageRecorder:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[UsageRecord] = []
        self._lock = asyncio.Lock()

    def record(self, record: UsageRecord) -> None:
        self._pending.append(record)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write all pending records; on failure keep them for the next try. Returns the count."""
        async with self._lock:
            written = 0
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await self._db.usage.add_batch(batch)
                except Exception:
                    log.exception(
                        "usage write failed; %d records kept for the next try", len(batch)
                    )
                    self._pending = batch + self._pending
                    break
                written += len(batch)
            return written
