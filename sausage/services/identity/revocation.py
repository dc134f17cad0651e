"""Token revocation events: tokens are not stored, so revoking one records what it matched.

A token is revoked when an event matches it (its audit id, or its user and optionally its
project) and was recorded at or after the token was issued. Events older than the longest token
lifetime can never match again and are pruned.
"""

from __future__ import annotations

import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from sausage.db.models import identity as m
from sausage.db.models.base import utcnow

__all__ = ["revoke", "revoke_domain", "is_revoked", "prune"]


def revoke(
    s: Session,
    *,
    audit_id: str | None = None,
    user_id: str | None = None,
    project_id: str | None = None,
) -> None:
    s.add(
        m.RevocationEvent(
            audit_id=audit_id, user_id=user_id, project_id=project_id, issued_before=utcnow()
        )
    )


def revoke_domain(s: Session, domain_id: str) -> None:
    """A disabled domain takes every token of its users and projects with it."""
    for user_id in s.scalars(select(m.User.id).where(m.User.domain_id == domain_id)):
        revoke(s, user_id=user_id)
    for project_id in s.scalars(select(m.Project.id).where(m.Project.domain_id == domain_id)):
        revoke(s, project_id=project_id)


def is_revoked(
    s: Session,
    *,
    audit_ids: tuple[str, ...],
    user_id: str,
    project_id: str | None,
    issued_at: datetime.datetime,
) -> bool:
    matches_token = or_(
        m.RevocationEvent.audit_id.in_(audit_ids),
        (m.RevocationEvent.user_id == user_id)
        & (m.RevocationEvent.audit_id.is_(None))
        & (
            m.RevocationEvent.project_id.is_(None)
            | (m.RevocationEvent.project_id == project_id)
        ),
        (m.RevocationEvent.user_id.is_(None))
        & (m.RevocationEvent.audit_id.is_(None))
        & (m.RevocationEvent.project_id == project_id),
    )
    query = select(m.RevocationEvent.id).where(
        matches_token, m.RevocationEvent.issued_before >= issued_at
    )
    return s.execute(query.limit(1)).first() is not None


def prune(s: Session, older_than: datetime.timedelta) -> None:
    s.execute(delete(m.RevocationEvent).where(m.RevocationEvent.revoked_at < utcnow() - older_than))
