"""Images as hosts fetch and make them: the ImageRefs of the host contract, and the images
whose upload from a host failed.

A host downloads an image's data from the internal API. An image with ``kernel_id`` /
``ramdisk_id`` properties carries its kernel and ramdisk (and ``os_command_line``) for a direct
kernel boot. Used by the compute and volume sections of each host's document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import image as im

__all__ = ["image_ref", "boot_refs", "discard"]


def image_ref(base_url: str, image: Any) -> contract.ImageRef:
    return {"id": image.id, "disk_format": image.disk_format or "raw",
            "checksum": image.checksum, "size": image.size,
            "url": f"{base_url}/internal/v1/images/{image.id}/file"}


def boot_refs(s: Session, base_url: str, image_ids: set[str]) -> dict[str, contract.ImageRef]:
    """ImageRefs for ``image_ids``; an image with kernel_id/ramdisk_id properties carries its
    kernel and ramdisk (and os_command_line) for a direct kernel boot."""
    props: dict[str, dict[str, str]] = {}
    for image_id, name, value in s.execute(select(
            im.ImageProperty.image_id, im.ImageProperty.name, im.ImageProperty.value).where(
            im.ImageProperty.image_id.in_(image_ids),
            im.ImageProperty.name.in_(("kernel_id", "ramdisk_id", "os_command_line")))):
        props.setdefault(image_id, {})[name] = value
    parts = {v for p in props.values() for k, v in p.items() if k != "os_command_line"}
    rows = {i.id: i for i in s.scalars(select(im.Image).where(
        im.Image.id.in_(image_ids | parts), im.Image.status == "active"))}
    refs: dict[str, contract.ImageRef] = {}
    for image_id in image_ids:
        if image_id not in rows:
            continue
        ref = image_ref(base_url, rows[image_id])
        for prop, part in (("kernel_id", "kernel"), ("ramdisk_id", "ramdisk")):
            other = rows.get(props.get(image_id, {}).get(prop, ""))
            if other is not None:
                ref[part] = image_ref(base_url, other)  # type: ignore[literal-required]
        if "kernel" in ref and props.get(image_id, {}).get("os_command_line"):
            ref["cmdline"] = props[image_id]["os_command_line"]
        refs[image_id] = ref
    return refs


def discard(s: Session, image_id: str) -> None:
    """An image a host was uploading (a server snapshot, a volume uploaded to an image) that
    failed: it goes away, as in Nova and Cinder. Its file is the caller's to remove."""
    row = s.get(im.Image, image_id)
    if row is not None and row.status in ("queued", "saving"):
        s.delete(row)
