"""The per-project quota lock every service's quota check takes (compute, network, volume).

One row per project in ``quota_locks``: a create that checks a quota holds it until its
transaction ends, so the check and the insert it guards are atomic across all services of
one project.
"""

from __future__ import annotations

from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sausage.db.models import compute as m

__all__ = ["lock_project"]


def lock_project(s: Session, project_id: str) -> None:
    """Hold the project's quota lock until this transaction ends.

    The insert-if-missing takes SQLite's write lock; the update takes PostgreSQL's row lock. A
    concurrent create in the same project then waits here, and counts after this one commits.
    """
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    s.execute(insert(m.QuotaLock).values(project_id=project_id, version=0)
              .on_conflict_do_nothing())
    s.execute(sql_update(m.QuotaLock).where(m.QuotaLock.project_id == project_id)
              .values(version=m.QuotaLock.version + 1))
