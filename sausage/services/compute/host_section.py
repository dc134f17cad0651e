"""Compute's section of each host's document (``sausage.services.hosts.document.Section``).

``build`` lists the servers the host must run — not deleted, not in error, with their image
(or a root volume) — with their wishes: power, the reboot/rebuild/resize counters, pending
snapshots. A server booted from a volume waits, while building, until its volumes are made.
The network and volume sections, which come after, add each server's NICs and volumes.

``fold`` moves the servers' Nova states from what the agent observed, and finishes the
snapshots it uploaded (a failed one's image goes away).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as m
from sausage.services.compute import power
from sausage.services.hosts.document import Folded
from sausage.services.image import refs
from sausage.services.volume import attachments

__all__ = ["ComputeSection"]


class ComputeSection:
    def build(self, s: Session, host: m.Host, base_url: str,
              document: contract.Desired) -> None:
        servers = list(s.scalars(select(m.Server).where(
            m.Server.host_id == host.id, m.Server.deleted.is_(False),
            m.Server.vm_state != "error").order_by(m.Server.created_at)))
        images = refs.boot_refs(s, base_url, {srv.image_id for srv in servers if srv.image_id})
        server_ids = [srv.id for srv in servers]
        volume_backed = attachments.bootable_root(s, server_ids)
        waiting = attachments.waiting_servers(s, server_ids)
        for srv in servers:
            image = images.get(srv.image_id or "")
            if srv.id in waiting and srv.vm_state == "building":
                continue  # its volumes are still being made
            if image is None and srv.id not in volume_backed:
                continue
            snapshots: list[contract.Snapshot] = [
                {"seq": int(snap["seq"]), "image_id": snap["image_id"],
                 "upload_url": f"{base_url}/internal/v1/images/{snap['image_id']}/file"}
                for snap in srv.observed.get("pending_snapshots", [])]
            document["servers"].append({
                "id": srv.id, "name": srv.name, "hostname": srv.hostname,
                "power": power.desired_power(srv), "power_seq": srv.power_seq,
                "vcpus": srv.vcpus, "memory_mb": srv.memory_mb, "root_gb": srv.root_gb,
                "image": image,
                "reboot_seq": srv.reboot_seq, "reboot_kind": "hard" if srv.reboot_kind == "hard"
                else "soft",
                "rebuild_seq": srv.rebuild_seq, "resize_seq": srv.resize_seq,
                "snapshots": snapshots,
            })

    def fold(self, s: Session, host: m.Host, observed: contract.Observed) -> Folded:
        seen = {o["id"]: o for o in observed["servers"]}
        folded = Folded()
        servers: Sequence[m.Server] = list(s.scalars(select(m.Server).where(
            m.Server.host_id == host.id, m.Server.deleted.is_(False))))
        for srv in servers:
            o = seen.get(srv.id)
            if o is None:
                continue
            folded.changed |= power.apply_observation(srv, o, s)
            done = set(o.get("snapshots_done", []))
            failed = o.get("snapshot_errors", {})
            pending = srv.observed.get("pending_snapshots", [])
            if done and pending:
                keep = []
                for snap in pending:
                    if int(snap["seq"]) not in done:
                        keep.append(snap)
                    elif failed.get(str(snap["seq"])):
                        refs.discard(s, snap["image_id"])
                        folded.dropped_images.append(snap["image_id"])
                srv.observed = {**srv.observed, "pending_snapshots": keep}
                if not keep and srv.task_state == "image_uploading":
                    srv.task_state = None
                folded.changed = True
        return folded
