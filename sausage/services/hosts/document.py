"""Each host's desired document, and its agent's reports folded back.

The document is the versioned contract of ``sausage.contract.host``. This module writes its
head (version, host, revision) and hands it to each domain's ``Section`` in turn — compute
lists the servers, network wires them and adds networks, ports and routers, volume adds each
server's volumes and the volumes the host's backend holds — so a later section may read what
an earlier one wrote. A report is folded the same way, after the host's own record (liveness,
capacity, the revision it has seen); a section that finds the host's own document changed by
the report (a server's state moved on, a volume finished) says so and the host's revision
moves. What a report leaves to do once it is committed (the files of images whose snapshot or
upload failed) is ``receive``'s to do, not the caller's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.db.session import Database
from sausage.services.hosts import changes, registry

__all__ = ["Section", "Folded", "ImageFiles", "desired", "report", "receive"]


@dataclasses.dataclass
class Folded:
    """What folding one section of a report found."""

    changed: bool = False  # the host's own document changed: its revision moves
    dropped_images: list[str] = dataclasses.field(default_factory=list)  # files to remove


class Section(Protocol):
    """One domain's part of a host's document."""

    def build(self, s: Session, host: m.Host, base_url: str,
              document: contract.Desired) -> None:
        """Write this domain's part of ``host``'s ``document`` (earlier sections' parts are
        already there)."""

    def fold(self, s: Session, host: m.Host, observed: contract.Observed) -> Folded:
        """Fold this domain's part of ``host``'s report."""


class ImageFiles(Protocol):
    def delete(self, image_id: str) -> None: ...


def desired(s: Session, host: m.Host, base_url: str,
            sections: Sequence[Section]) -> contract.Desired:
    document: contract.Desired = {
        "version": contract.VERSION, "host_id": host.id, "revision": host.revision,
        "servers": []}
    for section in sections:
        section.build(s, host, base_url, document)
    return document


def report(s: Session, host: m.Host, observed: contract.Observed,
           sections: Sequence[Section]) -> list[str]:
    """Fold ``host``'s report; returns the images whose files are to be removed once this
    transaction commits."""
    if host.network_node and not registry.is_alive(host):
        # A network node comes back: it may be the one routers and DHCP move (back) to.
        changes.changed(s, everywhere=True)
    host.last_seen = utcnow()
    host.revision_seen = observed["revision_seen"]
    host.vcpus, host.memory_mb, host.disk_gb = (
        observed["vcpus"], observed["memory_mb"], observed["disk_gb"])
    changed = False
    dropped: list[str] = []
    for section in sections:
        folded = section.fold(s, host, observed)
        changed |= folded.changed
        dropped += folded.dropped_images
    if changed:
        changes.changed(s, [host.id])
    return dropped


def receive(db: Database, files: ImageFiles, host_id: str | None, token: str,
            observed: contract.Observed, sections: Sequence[Section]) -> str:
    """Authenticate the host (by id and token, or by token alone), fold its report in one
    transaction, then remove the files of images that failed; returns the host's name."""
    with db.transaction() as s:
        host = (registry.authenticate(s, host_id, token) if host_id
                else registry.authenticate_token(s, token))
        name = host.name
        dropped = report(s, host, observed, sections)
    for image_id in dropped:
        files.delete(image_id)
    return name
