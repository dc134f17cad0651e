"""Per-project default volume types (Cinder's ``/default-types``, microversion 3.62): an admin
sets, shows, lists and unsets the type a project's volumes get when they name none.

Called by ``api/volume/default_types.py``; ``types.resolve`` and ``types.get(…, "default")``
read ``of_project`` so a project's own default wins over the cloud's ``__DEFAULT__``.
``types.delete_type`` refuses a type that is some project's default (Cinder's message).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import identity as im
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.volume import types

__all__ = ["put", "get", "listing", "unset"]


def _project(s: Session, project_id: str) -> None:
    if s.get(im.Project, project_id) is None:
        raise errors.NotFound(f"Project with id {project_id} not found.")


def put(s: Session, ctx: Context, project_id: str, name_or_id: str) -> vm.VolumeDefaultType:
    """Make the type (name or id) ``project_id``'s default. Forbidden unless admin, NotFound
    for an unknown project, BadRequest for an unknown type (as Cinder answers)."""
    policy.enforce(ctx, "volume_extension:default_set_or_update")
    _project(s, project_id)
    try:
        vtype = types.resolve(s, ctx, name_or_id)
    except errors.NotFound as e:
        raise errors.BadRequest(str(e)) from None
    row = s.get(vm.VolumeDefaultType, project_id)
    if row is None:
        row = vm.VolumeDefaultType(project_id=project_id, volume_type_id=vtype.id)
        s.add(row)
    else:
        row.volume_type_id, row.updated_at = vtype.id, utcnow()
    s.flush()
    return row


def get(s: Session, ctx: Context, project_id: str) -> vm.VolumeDefaultType:
    policy.enforce(ctx, "volume_extension:default_get")
    _project(s, project_id)
    row = s.get(vm.VolumeDefaultType, project_id)
    if row is None:
        raise errors.NotFound(f"Default type for project {project_id} not found.")
    return row


def listing(s: Session, ctx: Context) -> list[vm.VolumeDefaultType]:
    policy.enforce(ctx, "volume_extension:default_get_all")
    return list(s.scalars(select(vm.VolumeDefaultType)
                          .order_by(vm.VolumeDefaultType.project_id)))


def unset(s: Session, ctx: Context, project_id: str) -> None:
    """Forget the project's default (nothing to forget is fine, as in Cinder; so is a project
    that no longer exists)."""
    policy.enforce(ctx, "volume_extension:default_unset")
    s.execute(delete(vm.VolumeDefaultType).where(vm.VolumeDefaultType.project_id == project_id))
    s.flush()
