"""``/os-availability-zone`` (the zones of the volume hosts) and ``/extensions`` (Cinder's
extension list, for the extensions this cloud really has)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sausage.api import wire
from sausage.services.context import Context
from sausage.services.volume import placement

__all__ = ["ROUTES", "EXTENSIONS"]

# (name, alias, description, updated), as Cinder lists them.
EXTENSIONS = (
    ("AdminActions", "os-admin-actions", "Enable admin actions.", "2012-08-25"),
    ("AvailabilityZones", "os-availability-zone", "Describe Availability Zones.",
     "2013-06-27"),
    ("ExtendedSnapshotAttributes", "os-extended-snapshot-attributes",
     "Extended SnapshotAttributes support.", "2012-06-19"),
    ("Quotas", "os-quota-sets", "Quota management support.", "2011-08-08"),
    ("SnapshotActions", "os-snapshot-actions", "Enable snapshot manager actions.",
     "2013-09-24"),
    ("TypesExtraSpecs", "os-types-extra-specs", "Type extra specs support.", "2011-08-24"),
    ("TypesManage", "os-types-manage", "Types manage support.", "2011-08-24"),
    ("UsedLimits", "os-used-limits", "Provide data on limited resources that are being used.",
     "2013-10-03"),
    ("VolumeActions", "os-volume-actions", "Enable volume actions.", "2012-05-31"),
    ("VolumeHostAttribute", "os-vol-host-attr", "Expose host as an attribute of a volume.",
     "2011-11-03"),
    ("VolumeImageMetadata", "os-vol-image-meta",
     "Show image metadata associated with the volume.", "2012-12-07"),
    ("VolumeMigStatusAttribute", "os-vol-mig-status-attr",
     "Expose migration_status as an attribute of a volume.", "2013-08-08"),
    ("VolumeTenantAttribute", "os-vol-tenant-attr",
     "Expose the internal project_id as an attribute of a volume.", "2011-11-03"),
    ("VolumeTypeAccess", "os-volume-type-access", "Volume type access support.",
     "2014-06-26"),
)


async def extensions(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)  # authenticated, like every Cinder call
    return wire.json({"extensions": [
        {"name": name, "alias": alias, "description": description, "links": [],
         "updated": f"{updated}T00:00:00+00:00"}
        for name, alias, description, updated in EXTENSIONS]})


async def availability_zones(request: Request) -> Response:
    def zones(s: Session, ctx: Context) -> list[tuple[str, bool]]:
        return placement.zone_states(s)

    found = await wire.call(request, zones)
    return wire.json({"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": up}} for name, up in found]})


ROUTES: list[BaseRoute] = [
    Route("/extensions", extensions, methods=["GET"]),
    Route("/os-availability-zone", availability_zones, methods=["GET"]),
]
