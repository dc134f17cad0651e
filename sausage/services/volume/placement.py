"""Where volumes live: the volume hosts (hosts whose agent holds a storage backend) and their
availability zones.

Called by ``services/volume/volumes.py`` when a volume is made (``pick_host``, ``zones``) and by
the availability-zone listing. A volume host is a registered host with ``volume_backend`` set;
it takes new volumes while its agent reports (``registry.is_alive``).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sausage.db.models import compute as cm
from sausage.db.models import volume as vm
from sausage.services.hosts import registry

__all__ = ["pick_host", "zones", "zone_states", "DEFAULT_ZONE"]

# The zone Cinder reports when no storage host says otherwise (storage_availability_zone).
DEFAULT_ZONE = "nova"


def _volume_hosts(s: Session) -> list[cm.Host]:
    return list(s.scalars(select(cm.Host).where(cm.Host.volume_backend.is_not(None))
                          .order_by(cm.Host.name)))


def zones(s: Session) -> list[str]:
    """The availability zones that have a volume host (alive or not), sorted; ``nova`` when
    there is no volume host at all."""
    names = sorted({h.availability_zone or DEFAULT_ZONE for h in _volume_hosts(s)})
    return names or [DEFAULT_ZONE]


def zone_states(s: Session) -> list[tuple[str, bool]]:
    """Each zone of ``zones`` and whether a volume host in it is alive (the default zone of
    a cloud without volume hosts counts as available, as Cinder's storage zone does)."""
    found = _volume_hosts(s)
    if not found:
        return [(DEFAULT_ZONE, True)]
    return [(zone, any(registry.is_alive(h) for h in found
                       if (h.availability_zone or DEFAULT_ZONE) == zone)) for zone in zones(s)]


def pick_host(s: Session, availability_zone: str | None) -> cm.Host | None:
    """An alive volume host (in ``availability_zone`` when given) holding the fewest volume
    GiB; None when there is none."""
    candidates = [h for h in _volume_hosts(s) if registry.is_alive(h)
                  and (availability_zone is None
                       or (h.availability_zone or DEFAULT_ZONE) == availability_zone)]
    if not candidates:
        return None
    used = dict(s.execute(select(vm.Volume.host_id, func.coalesce(func.sum(vm.Volume.size), 0))
                          .where(vm.Volume.host_id.in_([h.id for h in candidates]))
                          .group_by(vm.Volume.host_id)).tuples().all())
    return min(candidates, key=lambda h: (int(used.get(h.id, 0)), h.name))
