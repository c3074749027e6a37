"""Tell a database that failed from data it refused, so a writer knows to retry or set aside.

Drivers raise their own types (asyncpg reports a NUL byte as a plain ``Error``, a
refused connection as a bare ``OSError``), so the type alone cannot be trusted to
say "the data is at fault": an error that is not clearly the database's is checked
with a ping, and only a database that answers the ping has refused the data.
"""

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.errors import RecordRejected, StorageError, StorageUnavailable

MAX_REASON = 500


async def classify(engine: AsyncEngine, error: Exception) -> StorageError:
    """``StorageUnavailable`` when the database failed, ``RecordRejected`` when it refused."""
    reason = describe(error)
    if _database_failed(error) or not await answers(engine):
        return StorageUnavailable(reason)
    return RecordRejected(reason)


async def answers(engine: AsyncEngine) -> bool:
    """Whether the database runs a trivial query now."""
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception:  # any failure here means "not now"
        return False
    return True


def describe(error: BaseException) -> str:
    """The driver's own message, without the statement and parameters SQLAlchemy adds."""
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
    text = str(cause).strip() or type(cause).__name__
    return text[:MAX_REASON]


def _database_failed(error: Exception) -> bool:
    if isinstance(error, OSError | TimeoutError | exc.TimeoutError):
        return True
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, exc.OperationalError | exc.InterfaceError
        )
    return False
