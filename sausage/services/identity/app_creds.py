"""Application credentials: a user's delegated, project-bound secret for automation.

The secret is shown once, at creation, and stored only as an Argon2 hash. Authenticating with it
yields a token on its project carrying only the roles it was created with that the user still has.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import identity as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.identity import common, passwords, resources, roles

__all__ = ["create", "get", "list_for_user", "delete", "authenticate", "role_rows"]


def _guard(ctx: Context) -> None:
    if ctx.application_credential_id is not None:
        raise errors.Forbidden(
            "Using method 'application_credential' is not allowed for managing additional "
            "application credentials."
        )


def role_rows(s: Session, cred: m.ApplicationCredential) -> list[m.Role]:
    if not cred.role_ids:
        return []
    return list(s.scalars(select(m.Role).where(m.Role.id.in_(cred.role_ids)).order_by(m.Role.name)))


def create(
    s: Session, ctx: Context, user_id: str, values: Mapping[str, Any]
) -> tuple[m.ApplicationCredential, str]:
    """Create one for ``user_id`` on the context's project; returns the row and the clear secret."""
    policy.enforce(ctx, "identity:create_application_credential", {"user_id": user_id})
    _guard(ctx)
    if ctx.project_id is None:
        raise errors.BadRequest("Application credentials must be created with a project-scoped token.")
    name = values["name"]
    common.ensure_unique(
        s,
        select(m.ApplicationCredential.id).where(
            m.ApplicationCredential.user_id == user_id, m.ApplicationCredential.name == name
        ),
        "application_credential",
        f"Duplicate entry found with name {name}",
    )
    held = {r.id: r for r in roles.effective_roles(s, user_id, project_id=ctx.project_id)}
    by_name = {r.name: r for r in held.values()}
    wanted = values.get("roles")
    if wanted:
        role_ids = []
        for ref in wanted:
            role = held.get(ref.get("id", "")) or by_name.get(ref.get("name", ""))
            if role is None:
                raise errors.Forbidden(
                    "Cannot create an application credential with a role the user does not have "
                    f"on the project: {ref.get('id') or ref.get('name')}."
                )
            role_ids.append(role.id)
    else:
        role_ids = sorted(held)
    expires_at: datetime.datetime | None = values.get("expires_at")
    if expires_at is not None and expires_at <= utcnow():
        raise errors.BadRequest("The expiration time of an application credential is in the past.")
    secret = values.get("secret") or secrets.token_urlsafe(64)
    row = m.ApplicationCredential(
        name=name,
        user_id=user_id,
        project_id=ctx.project_id,
        secret_hash=passwords.hash_secret(secret),
        description=values.get("description") or "",
        expires_at=expires_at,
        unrestricted=bool(values.get("unrestricted", False)),
        role_ids=role_ids,
    )
    s.add(row)
    s.flush()
    return row, secret


def get(s: Session, ctx: Context, user_id: str, cred_id: str) -> m.ApplicationCredential:
    policy.enforce(ctx, "identity:get_application_credential", {"user_id": user_id})
    row = s.get(m.ApplicationCredential, cred_id)
    if row is None or row.user_id != user_id:
        raise errors.NotFound(f"Could not find Application Credential: {cred_id}.")
    return row


def list_for_user(
    s: Session, ctx: Context, user_id: str, filters: Mapping[str, str]
) -> list[m.ApplicationCredential]:
    policy.enforce(ctx, "identity:list_application_credentials", {"user_id": user_id})
    common.get(s, m.User, user_id, "user")
    query = select(m.ApplicationCredential).where(m.ApplicationCredential.user_id == user_id)
    if "name" in filters:
        query = query.where(m.ApplicationCredential.name == filters["name"])
    return common.list_rows(s, query.order_by(m.ApplicationCredential.name))


def delete(s: Session, ctx: Context, user_id: str, cred_id: str) -> None:
    policy.enforce(ctx, "identity:delete_application_credential", {"user_id": user_id})
    _guard(ctx)
    # Tokens made from it die with it: validation looks the credential up.
    s.delete(get(s, ctx, user_id, cred_id))


def authenticate(s: Session, auth: Mapping[str, Any]) -> m.ApplicationCredential:
    """Find and check the credential an ``application_credential`` auth method names.

    Raises Unauthorized for anything that does not prove the secret; BadRequest for a malformed body.
    """
    secret = auth.get("secret")
    if not isinstance(secret, str):
        raise errors.BadRequest("Invalid input for field 'secret': it is a required string.")
    if auth.get("id"):
        row = s.get(m.ApplicationCredential, auth["id"])
    elif auth.get("name"):
        user = auth.get("user")
        if not isinstance(user, dict):
            raise errors.BadRequest(
                "An application credential named by name needs its user (id, or name and domain)."
            )
        owner = resources.find_user(s, user)
        row = s.scalars(
            select(m.ApplicationCredential).where(
                m.ApplicationCredential.user_id == owner.id,
                m.ApplicationCredential.name == auth["name"],
            )
        ).first()
    else:
        raise errors.BadRequest("An application credential needs its id or its name.")
    if row is None or not passwords.verify_secret(row.secret_hash, secret):
        raise errors.Unauthorized("The request you have made requires authentication.")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise errors.Unauthorized("The application credential has expired.")
    return row
