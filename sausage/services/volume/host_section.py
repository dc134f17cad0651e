"""Volume's section of each host's document (``sausage.services.hosts.document.Section``).

``build`` gives each server listed so far its volumes (in attach order) and, on a host that
holds a block-storage backend, adds the volumes it must hold (``desired.for_host``). ``fold``
moves volumes and snapshots through Cinder's statuses from the backend's report
(``desired.fold``; a failed upload's image goes away) and attachments from what the servers
report plugged (``attachments.fold_servers``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as cm
from sausage.services.hosts.document import Folded
from sausage.services.image import refs
from sausage.services.volume import attachments, desired

__all__ = ["VolumeSection"]


class VolumeSection:
    def build(self, s: Session, host: cm.Host, base_url: str,
              document: contract.Desired) -> None:
        servers = document["servers"]
        plugged = attachments.server_volumes(s, [d["id"] for d in servers])
        for doc in servers:
            doc["volumes"] = plugged.get(doc["id"], [])
        if host.volume_backend:
            document["volumes"] = desired.for_host(
                s, host, base_url, lambda ids: refs.boot_refs(s, base_url, set(ids)))

    def fold(self, s: Session, host: cm.Host, observed: contract.Observed) -> Folded:
        folded = Folded()
        if "volumes" in observed:
            folded.changed, uploaded = desired.fold(s, host, observed["volumes"])
            for image_id, error in uploaded:
                if error:
                    refs.discard(s, image_id)
                    folded.dropped_images.append(image_id)
        folded.changed |= attachments.fold_servers(s, host, observed["servers"])
        return folded
