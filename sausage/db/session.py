"""The database handle: an engine, a session factory and schema migration.

``Database.transaction()`` is the one way services write: everything inside commits together or
not at all, so a rejected request never leaves half a record behind.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

import alembic.command
import alembic.config
import sqlalchemy
from sqlalchemy import event, orm

__all__ = ["Database"]

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            # The API serves requests from a thread pool; SQLite needs to allow that and to wait
            # for the writer lock instead of failing at once.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = sqlalchemy.create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "savepoint", _sqlite_begin_before_savepoint)
        self._sessions = orm.sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[orm.Session]:
        """A session whose work commits on success and rolls back on any exception."""
        with self._sessions.begin() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        config = alembic.config.Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            alembic.command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_begin_before_savepoint(connection: Any, _name: Any) -> None:
    """pysqlite opens a transaction only before INSERT/UPDATE/DELETE. A SAVEPOINT that came
    first would open one of its own, which its RELEASE commits: a later rollback would then
    keep that work. Open the real transaction first."""
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one request writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
