"""Image members: an owner shares a ``shared`` image with other projects, who accept or reject.

The owner adds and removes members and sees them all; a member sees and sets only its own
status. Accepted shares appear in the member's default image list.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import image as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.image import images

__all__ = ["list_members", "add", "get", "set_status", "remove", "STATUSES"]

STATUSES = ("pending", "accepted", "rejected")


def _shared_image(s: Session, ctx: Context, image_id: str) -> m.Image:
    row = images.get(s, ctx, image_id).image
    if row.visibility != "shared":
        raise errors.Forbidden("Only shared images have members.")
    return row


def list_members(s: Session, ctx: Context, image_id: str) -> list[m.ImageMember]:
    row = _shared_image(s, ctx, image_id)
    query = select(m.ImageMember).where(m.ImageMember.image_id == image_id)
    if not policy.allowed(ctx, "get_members", {"project_id": row.owner}):
        query = query.where(m.ImageMember.member == ctx.project_id)
    return list(s.scalars(query.order_by(m.ImageMember.created_at)))


def add(s: Session, ctx: Context, image_id: str, member: str) -> m.ImageMember:
    row = _shared_image(s, ctx, image_id)
    policy.enforce(ctx, "add_member", {"project_id": row.owner})
    if s.get(m.ImageMember, (image_id, member)) is not None:
        raise errors.Conflict(f"Member {member} already has access to image {image_id}")
    if member == row.owner:
        raise errors.BadRequest("The owner of an image cannot be one of its members.")
    found = m.ImageMember(image_id=image_id, member=member, status="pending")
    s.add(found)
    s.flush()
    return found


def get(s: Session, ctx: Context, image_id: str, member: str) -> m.ImageMember:
    row = _shared_image(s, ctx, image_id)
    found = s.get(m.ImageMember, (image_id, member))
    if found is None or not policy.allowed(ctx, "get_member",
                                           {"project_id": row.owner, "member": member}):
        raise errors.NotFound(f"Member {member} not found on image {image_id}")
    return found


def set_status(s: Session, ctx: Context, image_id: str, member: str,
               status: str) -> m.ImageMember:
    if status not in STATUSES:
        raise errors.BadRequest(f"Invalid status '{status}': one of {', '.join(STATUSES)}.")
    found = get(s, ctx, image_id, member)
    policy.enforce(ctx, "modify_member", {"member": member})
    found.status = status
    found.updated_at = utcnow()
    return found


def remove(s: Session, ctx: Context, image_id: str, member: str) -> None:
    row = _shared_image(s, ctx, image_id)
    policy.enforce(ctx, "delete_member", {"project_id": row.owner})
    found = s.get(m.ImageMember, (image_id, member))
    if found is None:
        raise errors.NotFound(f"Member {member} not found on image {image_id}")
    s.delete(found)
