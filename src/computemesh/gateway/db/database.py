"""One object that owns the engine and hands out the stores."""

from sqlalchemy.ext.asyncio import AsyncEngine

from computemesh.gateway.db.engine import build_engine, check_sqlite_file, is_sqlite, shown
from computemesh.gateway.db.faults import describe
from computemesh.gateway.db.keys import KeyStore
from computemesh.gateway.db.migrate import current_revision, head_revision, upgrade
from computemesh.gateway.db.nonces import NonceStore
from computemesh.gateway.db.usage import UsageStore
from computemesh.gateway.db.users import UserStore
from computemesh.gateway.errors import StorageError


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = build_engine(url)
        self.users = UserStore(self.engine)
        self.keys = KeyStore(self.engine)
        self.nonces = NonceStore(self.engine)
        self.usage = UsageStore(self.engine)

    async def prepare(self) -> None:
        """SQLite is migrated on start; a server database must already be at the head.

        Raises StorageError, in one line, when the database cannot be opened or reached.
        """
        try:
            if is_sqlite(self.url):
                check_sqlite_file(self.url)
                await upgrade(self.engine)
                return
            current = await current_revision(self.engine)
        except Exception as error:  # the driver's own types: unreachable, refused, unopenable
            where = shown(self.url)
            raise StorageError(f"cannot use the database {where}: {describe(error)}") from None
        head = head_revision()
        if current != head:
            raise StorageError(
                f"database schema is at {current or 'nothing'}, this gateway needs {head}: "
                "run `computemesh gateway migrate` first"
            )

    async def close(self) -> None:
        await self.engine.dispose()
