"""Block-storage policy (Cinder's defaults, roles admin / member / reader).

- admin: everything, in every project (``all_tenants`` lists), and the admin-only actions
  (reset status, force detach, volume type and quota changes);
- a project's members: create and change their own project's volumes and snapshots;
- readers: read their project's, write nothing (403).

Another project's volume or snapshot is invisible: ``visible`` is False and services raise
NotFound with Cinder's message, never 403.
"""

from __future__ import annotations

from sausage import errors
from sausage.services.context import Context

__all__ = ["visible", "enforce_write", "enforce_admin", "denied"]


def visible(ctx: Context, project_id: str) -> bool:
    return ctx.is_admin or (ctx.project_id is not None and ctx.project_id == project_id)


def denied(action: str) -> errors.Forbidden:
    return errors.Forbidden(f"Policy doesn't allow {action} to be performed.")


def enforce_write(ctx: Context, project_id: str, action: str) -> None:
    """Forbidden unless ``ctx`` is admin or a member (not only a reader) of ``project_id``;
    callers check visibility first (NotFound)."""
    if ctx.is_admin:
        return
    if ctx.project_id != project_id or not ctx.has_role("member"):
        raise denied(action)


def enforce_admin(ctx: Context, action: str) -> None:
    if not ctx.is_admin:
        raise denied(action)
