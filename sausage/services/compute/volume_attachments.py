"""``os-volume_attachments`` as Nova has them: a server's volumes attached and detached while
it lives, each recorded in the server's instance actions.

The block-storage side (which volume may be attached where, its statuses, the host to wake) is
``services/volume/attachments.py``; this module loads the server under compute's rules and
keeps compute's record.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import volume as vm
from sausage.services import policy
from sausage.services.compute import servers
from sausage.services.context import Context
from sausage.services.volume import attachments

__all__ = ["attach", "detach", "swap", "listing"]


def attach(s: Session, ctx: Context, server_id: str, volume_id: str,
           device: str | None) -> vm.VolumeAttachment:
    server = servers.load_for_change(s, ctx, server_id)
    row = attachments.attach(s, ctx, server, volume_id, device)
    servers.record_action(s, ctx, server, "attach_volume", "compute_attach_volume", done=True)
    return row


def detach(s: Session, ctx: Context, server_id: str, volume_id: str) -> None:
    server = servers.load_for_change(s, ctx, server_id)
    attachments.detach(s, ctx, server, volume_id)
    servers.record_action(s, ctx, server, "detach_volume", "compute_detach_volume", done=True)


def swap(s: Session, ctx: Context, server_id: str) -> None:
    """Swapping a server's volume for another: an admin's action, and not supported here."""
    servers.load_for_change(s, ctx, server_id)
    policy.enforce(ctx, "os_compute_api:os-volumes-attachments:swap")
    raise errors.BadRequest("Swapping a server's volume for another is not supported.")


def listing(s: Session, ctx: Context, server_id: str) -> list[vm.VolumeAttachment]:
    server = servers.get(s, ctx, server_id)
    return attachments.of_servers(s, [server.id])[server.id]
