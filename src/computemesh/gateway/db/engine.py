"""Build the async engine from a URL; SQLite gets the pragmas that make it a fair server store."""

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from computemesh.gateway.errors import StorageError

# asyncpg waits 60 s for a silent server by default; a gateway should say so sooner.
CONNECT_TIMEOUT_S = 10


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def shown(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def check_sqlite_file(url: str) -> None:
    """Open the SQLite file once with the standard driver; ``sqlite3.Error`` if it cannot be.

    aiosqlite's worker thread outlives a failed connect and, when the event loop has
    closed meanwhile, prints a traceback; a file that cannot be opened is caught here
    before that thread exists.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    sqlite3.connect(database).close()


def build_engine(url: str) -> AsyncEngine:
    try:
        if not is_sqlite(url):
            return create_async_engine(
                url,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                connect_args={"timeout": CONNECT_TIMEOUT_S},
            )
        engine = create_async_engine(url)
    except Exception as error:  # SQLAlchemy raises ArgumentError, ValueError, ImportError...
        # Its messages show URLs with the password hidden; never the raw URL here.
        raise StorageError(f"the database URL is not usable: {error}") from None
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the usage writer; busy_timeout makes a second
    # gateway process on the same file wait for the lock instead of failing.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
