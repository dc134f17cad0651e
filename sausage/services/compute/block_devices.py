"""Block device mappings of a new server (Nova's ``block_device_mapping_v2`` and the legacy
``block_device_mapping``): validation, where the server must run, and the volumes and
attachment rows made for it.

A server boots from a volume when its boot_index-0 mapping has destination ``volume``: an
existing volume (``source_type: volume``), or one made for it from an image, a snapshot or
nothing. Its root disk is that volume (``/dev/vda``); its ``image`` is empty and it claims no
root disk on the host. The ``file`` backend is local, so a server with existing volumes (or
volumes made from snapshots) runs on the host that holds them, and one whose volumes are made
fresh runs on a host with a volume backend.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models import volume as vm
from sausage.services import policy
from sausage.services.compute import scheduler
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.image import images
from sausage.services.volume import attachments
from sausage.services.volume import volumes as volume_service

__all__ = ["Mapping_", "Plan", "plan", "schedule", "realize"]

GIB = 1 << 30
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_V2_KEYS = {"source_type", "uuid", "image_id", "destination_type", "guest_format", "boot_index",
            "device_name", "volume_size", "delete_on_termination", "disk_bus", "device_type",
            "no_device", "connection_info", "snapshot_id", "volume_id", "tag"}
_V1_KEYS = {"virtual_name", "volume_id", "snapshot_id", "volume_size", "device_name",
            "delete_on_termination", "no_device", "connection_info"}
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def _invalid(detail: str) -> errors.BadRequest:
    return errors.BadRequest(f"Block Device Mapping is Invalid: {detail}")


@dataclasses.dataclass
class Mapping_:
    source: str  # image | volume | snapshot | blank
    destination: str  # volume | local
    uuid: str | None
    boot_index: int | None
    volume_size: int | None
    delete_on_termination: bool
    device_name: str | None


@dataclasses.dataclass
class Plan:
    """What the mappings ask for, validated."""

    image_id: str | None  # the image of a local root disk (None: booted from a volume)
    volumes: list[Mapping_]  # the mappings with destination volume, boot_index 0 first
    pinned_host: str | None = None  # existing volumes (file backend) live on this host
    needs_backend: bool = False  # volumes are made for the server: its host must hold them
    sizes: dict[int, int] = dataclasses.field(default_factory=dict)  # index → GiB (from image)

    @property
    def volume_backed(self) -> bool:
        return bool(self.volumes) and self.volumes[0].boot_index == 0


def _int(value: Any, field: str, minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} is not of type 'integer'")
    try:
        number = int(value)
    except ValueError as e:
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} is not of type 'integer'") from e
    if minimum is not None and number < minimum:
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} is less than the minimum of {minimum}")
    return number


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if value is None:
        return False
    raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                            f"{value!r} is not a valid boolean")


def _uuid(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                                f"{value!r} is not a 'uuid'")
    return value


def _v2(entry: Mapping[str, Any]) -> Mapping_:
    extra = set(entry) - _V2_KEYS
    if extra:
        raise errors.BadRequest(f"Invalid input for field/attribute block_device_mapping_v2. "
                                f"Additional properties are not allowed "
                                f"({', '.join(repr(k) for k in sorted(extra))} were unexpected)")
    if entry.get("no_device"):
        raise _invalid("no_device mappings are not supported.")
    source = entry.get("source_type")
    if source not in ("image", "volume", "snapshot", "blank"):
        raise errors.BadRequest(f"Invalid input for field/attribute source_type. Value: "
                                f"{source}. {source!r} is not one of ['volume', 'image', "
                                f"'snapshot', 'blank']")
    destination = entry.get("destination_type") or ("local" if source in ("image", "blank")
                                                    else "volume")
    if destination not in ("local", "volume"):
        raise errors.BadRequest(f"Invalid input for field/attribute destination_type. Value: "
                                f"{destination}. {destination!r} is not one of ['local', "
                                f"'volume']")
    ident = entry.get("uuid") or entry.get(f"{source}_id")
    if source != "blank":
        if ident is None:
            raise _invalid(f"Missing device UUID for a {source} mapping.")
        ident = _uuid(ident, "uuid")
    if source in ("volume", "snapshot") and destination != "volume":
        raise _invalid(f"Mapping image/block device mapping combination is not valid: a "
                       f"{source} can only be mapped to destination_type volume.")
    if destination == "local" and source == "blank":
        raise _invalid("Local swap and ephemeral disks are not supported here.")
    return Mapping_(source, destination, ident,
                    _int(entry.get("boot_index"), "boot_index"),
                    _int(entry.get("volume_size"), "volume_size", 0),
                    _bool(entry.get("delete_on_termination"), "delete_on_termination"),
                    entry.get("device_name") or None)


def _v1(entry: Mapping[str, Any]) -> Mapping_:
    extra = set(entry) - _V1_KEYS
    if extra:
        raise errors.BadRequest(f"Invalid input for field/attribute block_device_mapping. "
                                f"Additional properties are not allowed "
                                f"({', '.join(repr(k) for k in sorted(extra))} were unexpected)")
    device = entry.get("device_name")
    if not isinstance(device, str) or not device:
        raise _invalid("Device name is required for a block_device_mapping.")
    if entry.get("volume_id"):
        source, ident = "volume", _uuid(entry["volume_id"], "volume_id")
    elif entry.get("snapshot_id"):
        source, ident = "snapshot", _uuid(entry["snapshot_id"], "snapshot_id")
    else:
        raise _invalid("Only volume and snapshot mappings are supported.")
    root = device.removeprefix("/dev/") in ("vda", "sda", "xvda", "hda")
    return Mapping_(source, "volume", ident, 0 if root else None,
                    _int(entry.get("volume_size"), "volume_size", 0),
                    _bool(entry.get("delete_on_termination"), "delete_on_termination"), device)


def _parse(req: Mapping[str, Any]) -> list[Mapping_]:
    v2, v1 = req.get("block_device_mapping_v2"), req.get("block_device_mapping")
    if v2 and v1:
        raise errors.BadRequest("Using different block_device_mapping syntaxes is not "
                                "allowed.")
    raw = v2 or v1 or []
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise errors.BadRequest("Invalid input for field/attribute block_device_mapping_v2: "
                                "a list of objects.")
    return [_v2(e) if v2 else _v1(e) for e in raw]


def _image(s: Session, ctx: Context, image_id: str) -> Any:
    try:
        image = images.get(s, ctx, image_id).image
    except errors.NotFound as e:
        raise errors.BadRequest(f"Image {image_id} could not be found.") from e
    if image.status != "active":
        raise errors.BadRequest(f"Image {image_id} is not active.")
    return image


def plan(s: Session, ctx: Context, req: Mapping[str, Any], max_count: int) -> Plan:
    """Validate the request's mappings (and imageRef) and say what the server boots from."""
    mappings = _parse(req)
    image_ref = req.get("imageRef") or None
    roots = [b for b in mappings if b.boot_index == 0]
    if len(roots) > 1 or (not roots and not image_ref):
        raise _invalid("Boot sequence for the instance and image/block device mapping "
                       "combination is not valid.")
    root = roots[0] if roots else None
    local_images = [b for b in mappings if b.destination == "local"]
    if local_images and (root is None or root is not local_images[0] or len(local_images) > 1):
        raise _invalid("Boot sequence for the instance and image/block device mapping "
                       "combination is not valid.")
    out = Plan(image_id=None, volumes=[])
    if root is not None and root.destination == "local":
        if image_ref and root.uuid != str(image_ref):
            raise _invalid("Boot sequence for the instance and image/block device mapping "
                           "combination is not valid.")
        out.image_id = root.uuid
    elif root is None:
        out.image_id = str(image_ref)
    volumes = [b for b in mappings if b.destination == "volume"]
    volumes.sort(key=lambda b: b.boot_index != 0)
    out.volumes = volumes
    hosts_of: set[str] = set()
    seen: set[str] = set()
    for index, b in enumerate(volumes):
        if b.source == "volume":
            assert b.uuid is not None
            if max_count > 1:
                raise errors.BadRequest("Unable to launch multiple instances with a single "
                                        "configured volume.")
            if b.uuid in seen:
                raise _invalid(f"Volume {b.uuid} is mapped more than once.")
            seen.add(b.uuid)
            volume = _existing(s, ctx, b.uuid)
            if volume.host_id:
                hosts_of.add(volume.host_id)
        elif b.source == "snapshot":
            assert b.uuid is not None
            snap = s.get(vm.VolumeSnapshot, b.uuid)
            if snap is None or not policy.allowed(ctx, "volume:get_snapshot",
                                                  {"project_id": snap.project_id}):
                raise _invalid(f"failed to get snapshot {b.uuid}.")
            parent = s.get(vm.Volume, snap.volume_id)
            if parent is not None and parent.host_id:
                hosts_of.add(parent.host_id)
            out.needs_backend = True
        elif b.source == "image":
            assert b.uuid is not None
            image = _image(s, ctx, b.uuid)
            needed = max(1, image.min_disk or 0,
                         *(math.ceil((n or 0) / GIB) for n in (image.size, image.virtual_size)))
            if b.volume_size == 0:
                raise _invalid("Images with destination_type 'volume' need to have a non-zero "
                               "size specified")
            out.sizes[index] = b.volume_size or needed
            out.needs_backend = True
        else:
            if not b.volume_size:
                raise _invalid("Blank volumes need a non-zero volume_size.")
            if b.boot_index == 0:
                raise _invalid("Boot sequence for the instance and image/block device mapping "
                               "combination is not valid.")
            out.needs_backend = True
    if len(hosts_of) > 1:
        raise errors.BadRequest("The requested volumes are held by the 'file' backends of "
                                "different hosts: a server can only use volumes of its own "
                                "host.")
    out.pinned_host = next(iter(hosts_of), None)
    if out.image_id is not None:
        _image(s, ctx, out.image_id)
    return out


def _existing(s: Session, ctx: Context, volume_id: str) -> vm.Volume:
    try:
        return attachments.volume_for_attach(s, ctx, volume_id, None)
    except errors.NotFound as e:
        raise _invalid(f"failed to get volume {volume_id}.") from e


def schedule(s: Session, req: scheduler.Request, p: Plan) -> m.Host:
    """A host for the server: the one holding its volumes, or (when volumes are made for it)
    one with a volume backend; raises NoValidHost."""
    if p.pinned_host is not None:
        host = s.get(m.Host, p.pinned_host)
        if host is None or (req.host and req.host != host.name):
            raise scheduler.NoValidHost("No valid host was found. The host holding the "
                                        "server's volumes cannot be used.")
        return scheduler.schedule(s, dataclasses.replace(req, host=host.name))
    if not p.needs_backend:
        return scheduler.schedule(s, req)
    names = [h.name for h in s.scalars(select(m.Host).where(m.Host.volume_backend.is_not(None))
                                       .order_by(m.Host.name))
             if req.host is None or h.name == req.host]
    for name in names:
        try:
            return scheduler.schedule(s, dataclasses.replace(req, host=name))
        except scheduler.NoValidHost:
            continue
    raise scheduler.NoValidHost("No valid host was found. There are not enough hosts "
                                "with a volume backend available.")


def realize(s: Session, ctx: Context, server: m.Server, p: Plan) -> None:
    """Make the server's volumes (on its host) and their attachment rows (``attaching``)."""
    taken: set[str] = set()
    for index, b in enumerate(p.volumes):
        if b.source == "volume":
            assert b.uuid is not None
            volume = attachments.volume_for_attach(s, ctx, b.uuid, server.host_id)
        else:
            volume = volume_service.make(
                s, ctx, size=p.sizes.get(index, b.volume_size), name="",
                description="", host_id=server.host_id,
                image_id=b.uuid if b.source == "image" else None,
                snapshot_id=b.uuid if b.source == "snapshot" else None)
        if b.boot_index == 0:
            device = "/dev/vda"
        else:
            device = attachments.next_device(taken | {"/dev/vda"}, b.device_name)
        taken.add(device)
        row = attachments.new_row(volume, server, device, boot_index=b.boot_index,
                                  delete_on_termination=b.delete_on_termination)
        attachments.claim(s, volume, "attaching")
        s.add(row)
        s.flush()
    changes.changed(s, [server.host_id])

