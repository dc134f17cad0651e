"""Network policy (Neutron's defaults, roles admin / member / reader).

- admin: everything, in every project;
- a project's members: write their own project's resources;
- readers: read their project's resources, write nothing (403);
- shared and external networks (and their subnets) are readable by every project;
- provider attributes (``provider:*``) and ``router:external``/``shared`` on create are
  admin-only to set; provider attributes are admin-only to see.

Another project's private resource is invisible: services raise NotFound for it, never 403.
"""

from __future__ import annotations

from sausage import errors
from sausage.services.context import Context

__all__ = ["may_read", "enforce_write", "enforce_admin", "denied", "owns", "creating"]


def owns(ctx: Context, project_id: str) -> bool:
    return ctx.project_id is not None and ctx.project_id == project_id


def may_read(ctx: Context, project_id: str, public: bool = False) -> bool:
    """Whether ``ctx`` may see a resource of ``project_id`` (``public``: shared/external)."""
    return ctx.is_admin or public or owns(ctx, project_id)


def denied(action: str) -> errors.Forbidden:
    return errors.Forbidden(f"(rule:{action}) is disallowed by policy",
                            kind="PolicyNotAuthorized")


def enforce_write(ctx: Context, project_id: str, action: str) -> None:
    """Forbidden unless ``ctx`` is admin, or a member (not only a reader) of ``project_id``.
    Callers make sure the resource is visible first (NotFound otherwise)."""
    if ctx.is_admin:
        return
    if not owns(ctx, project_id) or not ctx.has_role("member"):
        raise denied(action)


def enforce_admin(ctx: Context, action: str) -> None:
    if not ctx.is_admin:
        raise denied(action)


def creating(ctx: Context, project_id: str | None, action: str) -> str:
    """The project a new resource goes to: ``project_id`` or the caller's (BadRequest when
    neither is known), which ``ctx`` must be allowed to write (``enforce_write``)."""
    project = project_id or ctx.project_id
    if not project:
        raise errors.BadRequest("Invalid input for operation: a project_id is required.",
                                kind="InvalidInput")
    enforce_write(ctx, project, action)
    return project
