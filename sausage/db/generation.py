"""The identity generation: a counter in the database that every identity write bumps.

``Database`` (sausage/db/session.py) installs ``install`` on its session factory. After each
flush that adds, changes or deletes a row of an identity table (``models.identity.WATCHED``),
and after each bulk UPDATE/DELETE statement on one, the single ``identity_generation`` row is
incremented on the same connection, so it commits or rolls back with the write itself. Nothing
in the services has to remember to call it. The token validation cache
(sausage/services/identity/validation_cache.py) reads it with ``current``: a cached validation
stands only while the number it was made under is still the number in the database, in every
worker process sharing that database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from sausage.db.models import identity as m

__all__ = ["install", "current", "bump"]

_TABLES = frozenset(cls.__table__ for cls in m.WATCHED)
_BUMP = update(m.IdentityGeneration).where(m.IdentityGeneration.id == 1).values(
    value=m.IdentityGeneration.value + 1)


def bump(session: Session) -> None:
    session.connection().execute(_BUMP)


def current(session: Session) -> int | None:
    """The generation as this session's transaction sees it; None before the migration ran."""
    return session.scalar(select(m.IdentityGeneration.value).where(m.IdentityGeneration.id == 1))


def _after_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, m.WATCHED):
            bump(session)
            return


def _orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table in _TABLES:
        bump(state.session)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _orm_execute)
