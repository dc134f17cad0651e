"""The database handle: an engine, a session factory and schema migration.

``Database.transaction()`` is the one way services write: everything inside commits together or
not at all, so a rejected request never leaves half a record behind.

Before every flush, each value about to be written is checked against what its column can store
on every engine (``storable``): an integer within the column's width (Integer is 32 bits on
PostgreSQL and MariaDB), a finite float, a string within the column's length and without NUL.
A value that does not fit is the client's BadRequest naming the attribute, never a driver error
after half the work — and SQLite, which would store anything, behaves as the others do.
"""

from __future__ import annotations

import contextlib
import math
import pathlib
from collections.abc import Iterator
from typing import Any

import alembic.command
import alembic.config
import sqlalchemy
from sqlalchemy import event, orm

from sausage import errors
from sausage.db import generation

__all__ = ["Database", "storable", "INT_RANGES"]

# The widest value each integer type holds on every supported engine.
INT_RANGES: list[tuple[type[sqlalchemy.types.TypeEngine[Any]], int]] = [
    (sqlalchemy.SmallInteger, 15), (sqlalchemy.BigInteger, 63), (sqlalchemy.Integer, 31)]

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


class Database:
    def __init__(self, url: str, info: dict[str, Any] | None = None) -> None:
        """``info``: what every session's ``Session.info`` starts with (settings the services
        read while they work, e.g. the cloud's DNS domain)."""
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
        self._sessions = orm.sessionmaker(self.engine, expire_on_commit=False,
                                          info=dict(info or {}))
        event.listen(self._sessions, "before_flush", _check_storable)
        generation.install(self._sessions)

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


def storable(column: Any, value: Any) -> str | None:
    """Why ``value`` cannot be stored in (or compared with) ``column`` — a Column or a mapped
    attribute; None when it can."""
    kind = column.type
    if value is None or isinstance(value, bool):
        return None
    if isinstance(kind, sqlalchemy.Integer) and isinstance(value, int):
        bits = next(b for t, b in INT_RANGES if isinstance(kind, t))
        if not -(1 << bits) <= value < (1 << bits):
            return f"must be between {-(1 << bits)} and {(1 << bits) - 1}"
    elif isinstance(kind, sqlalchemy.Float) and isinstance(value, float):
        if not math.isfinite(value):
            return "must be a finite number"
    elif isinstance(kind, sqlalchemy.String) and isinstance(value, str):
        if kind.length is not None and len(value) > kind.length:
            return f"must be at most {kind.length} characters long"
        if "\x00" in value:
            return "must not contain a NUL character"
    return None


def _check_storable(session: orm.Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        state = sqlalchemy.inspect(obj)
        for attr in state.mapper.column_attrs:
            # Only values already in the object: reading others would load them mid-flush.
            if attr.key not in state.dict:
                continue
            for column in attr.columns:
                reason = storable(column, state.dict[attr.key])
                if reason is not None:
                    raise errors.BadRequest(f"Invalid input for {attr.key}: {reason}.")


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
