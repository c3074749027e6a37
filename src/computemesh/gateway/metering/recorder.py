"""Write-behind usage: requests append to memory, one task writes batches every interval.

A request never waits on the database. What can be lost is bounded: on SIGKILL,
at most the records of the last flush interval (plus the flush in flight); on a
clean shutdown, nothing, since the app flushes before it exits. Each record has a
unique id and the insert skips ids already stored, so a batch retried after an
error is never counted twice.

Two kinds of failure, two answers. When the database fails (down, unreachable),
records stay in memory, in order, for the next flush. When it refuses the data
(text it cannot store), retrying cannot help and would hold back every record
queued behind: the batch is written one record at a time instead, and each record
refused on its own is set aside in the dead-letter table, logged and counted.
"""

import asyncio
import logging
from datetime import datetime

from computemesh.gateway.db import Database, UsageRecord, dead_letter_text
from computemesh.gateway.errors import RecordRejected, StorageError

log = logging.getLogger(__name__)
MAX_BATCH = 5000


class UsageRecorder:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[UsageRecord] = []
        self._lock = asyncio.Lock()
        self._set_aside = 0
        self.write_failures = 0
        """Writes the database failed since start (their records were kept)."""

    def record(self, record: UsageRecord) -> None:
        self._pending.append(record)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def oldest_pending_at(self) -> datetime | None:
        """When the oldest record still waiting was made (records queue in order)."""
        return self._pending[0].created_at if self._pending else None

    @property
    def set_aside(self) -> int:
        """Records refused by the database since start (kept in ``usage_dead_letters``)."""
        return self._set_aside

    async def flush(self) -> int:
        """Write all pending records; keep them for the next try if the database fails.

        Returns how many were written (records set aside not included).
        """
        async with self._lock:
            written = 0
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                try:
                    await self._db.usage.add_batch(batch)
                    done, stored = len(batch), len(batch)
                except RecordRejected:
                    done, stored = await self._one_by_one(batch)
                except Exception as error:
                    self.write_failures += 1
                    log.warning("usage write failed (%s); %d records kept", error, self.pending)
                    break
                # Records that arrived during the write were appended behind the batch.
                del self._pending[:done]
                written += stored
                if done < len(batch):
                    break
            return written

    async def _one_by_one(self, batch: list[UsageRecord]) -> tuple[int, int]:
        """Write each record alone, setting aside those refused; stop if the database fails.

        Returns how many records of the batch are dealt with, and how many were written.
        """
        stored = 0
        for done, record in enumerate(batch):
            try:
                await self._db.usage.add_batch([record])
                stored += 1
            except RecordRejected as refused:
                if not await self._keep_aside(record, str(refused)):
                    return done, stored
            except Exception as error:
                self.write_failures += 1
                log.warning("usage write failed (%s); %d records kept", error, self.pending - done)
                return done, stored
        return len(batch), stored

    async def _keep_aside(self, record: UsageRecord, reason: str) -> bool:
        """Set a refused record aside; False if the database failed meanwhile (retry later)."""
        try:
            await self._db.usage.set_aside(record, reason)
            kept_in = "usage_dead_letters"
        except RecordRejected as error:
            # Not even its escaped form was stored: this log line is then its only copy.
            kept_in = f"this log only ({error}): {dead_letter_text(record)}"
        except StorageError:
            return False
        self._set_aside += 1
        log.error(
            "usage record %s refused by the database (%s); set aside in %s (%d since start)",
            record.id,
            reason,
            kept_in,
            self._set_aside,
        )
        return True
