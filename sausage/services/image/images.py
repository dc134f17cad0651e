"""Image records: create, list with Glance's filters and paging, show, JSON-patch, delete, tags,
data upload bookkeeping, deactivate/reactivate — under Glance's visibility rules and our policy.

Who sees an image: its owner; everyone for ``public`` and ``community``; members for ``shared``
(listed by default once accepted). Admin sees all. A reader may look but never change anything.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import image as m
from sausage.db.models.base import utcnow
from sausage.services import keyset, policy
from sausage.services.context import Context

__all__ = [
    "ImageView", "DISK_FORMATS", "CONTAINER_FORMATS", "VISIBILITIES", "READ_ONLY", "BASE_ATTRS",
    "create", "get", "list_images", "update", "delete", "add_tag", "remove_tag",
    "begin_upload", "finish_upload", "fail_upload", "readable_data", "set_active_state",
    "Quota", "mark_saving",
]

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
# Attributes Glance computes or owns; a PATCH that touches them is 403.
READ_ONLY = ("id", "status", "checksum", "size", "virtual_size", "created_at", "updated_at",
             "file", "schema", "self", "direct_url", "os_hash_algo", "os_hash_value",
             "location", "locations", "deleted", "deleted_at", "stores")
BASE_ATTRS = ("name", "visibility", "protected", "os_hidden", "disk_format",
              "container_format", "min_disk", "min_ram", "tags", "owner")
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at", "min_disk", "min_ram", "visibility", "owner")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 25


@dataclasses.dataclass(frozen=True)
class Quota:
    image_count: int
    image_size_total: int  # bytes


@dataclasses.dataclass(frozen=True)
class ImageView:
    image: m.Image
    tags: tuple[str, ...]
    properties: Mapping[str, str]


# --- visibility and policy ---------------------------------------------------------------------


def _member_of(ctx: Context, statuses: Sequence[str] | None = None) -> ColumnElement[bool]:
    cond = and_(m.ImageMember.image_id == m.Image.id, m.ImageMember.member == ctx.project_id)
    if statuses is not None:
        cond = and_(cond, m.ImageMember.status.in_(statuses))
    return exists().where(cond)


def _can_see(ctx: Context) -> ColumnElement[bool]:
    """Images the context may GET by id (pending shares included)."""
    if policy.allowed(ctx, "context_is_admin"):
        return m.Image.id.is_not(None)
    return or_(
        m.Image.owner == ctx.project_id,
        m.Image.visibility.in_(("public", "community")),
        and_(m.Image.visibility == "shared", _member_of(ctx)),
    )


def _load(s: Session, ctx: Context, image_id: str) -> m.Image:
    row = s.scalars(select(m.Image).where(m.Image.id == image_id, _can_see(ctx))).first()
    if row is None:
        raise errors.NotFound(f"No image found with ID {image_id}")
    return row


def _may_modify(ctx: Context, row: m.Image) -> None:
    policy.enforce(ctx, "modify_image", {"project_id": row.owner})


def _views(s: Session, rows: Sequence[m.Image]) -> list[ImageView]:
    ids = [r.id for r in rows]
    tags: dict[str, list[str]] = {i: [] for i in ids}
    props: dict[str, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for image_id, tag in s.execute(
                select(m.ImageTag.image_id, m.ImageTag.tag).where(m.ImageTag.image_id.in_(ids))
                .order_by(m.ImageTag.tag)):
            tags[image_id].append(tag)
        for image_id, name, value in s.execute(
                select(m.ImageProperty.image_id, m.ImageProperty.name, m.ImageProperty.value)
                .where(m.ImageProperty.image_id.in_(ids))):
            props[image_id][name] = value
    return [ImageView(r, tuple(tags[r.id]), props[r.id]) for r in rows]


def view(s: Session, row: m.Image) -> ImageView:
    return _views(s, [row])[0]


# --- validation of attribute values ------------------------------------------------------------


def _check_attr(name: str, value: Any, ctx: Context) -> Any:
    def bad(why: str) -> errors.BadRequest:
        return errors.BadRequest(f"Invalid value for '{name}': {why}")

    if name == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise bad("a string of at most 255 characters")
    elif name == "visibility":
        if value not in VISIBILITIES:
            raise bad(f"one of {', '.join(VISIBILITIES)}")
        if value == "public":
            policy.enforce(ctx, "publicize_image")
    elif name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif name == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise bad(f"one of {', '.join(DISK_FORMATS)}")
    elif name == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise bad(f"one of {', '.join(CONTAINER_FORMATS)}")
    elif name in ("min_disk", "min_ram"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad("a non-negative integer")
    elif name == "tags":
        if not isinstance(value, list) or not all(
                isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise bad("a list of strings of at most 255 characters")
        if len(value) > 128:
            raise errors.PayloadTooLarge("An image may have at most 128 tags.")
    elif name == "owner":
        policy.enforce(ctx, "set_image_owner")
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise bad("a string of at most 255 characters")
    else:  # an extra property
        if name.startswith("os_glance"):
            raise errors.Forbidden(f"Attribute '{name}' is reserved.")
        if not isinstance(value, str) or len(value) > 65535:
            raise bad("extra properties are strings")
        if len(name) > 255:
            raise bad("property names are at most 255 characters")
    return value


def _set_tags(s: Session, image_id: str, tags: Sequence[str]) -> None:
    s.execute(sql_delete(m.ImageTag).where(m.ImageTag.image_id == image_id))
    for tag in dict.fromkeys(tags):
        s.add(m.ImageTag(image_id=image_id, tag=tag))


def _set_property(s: Session, image_id: str, name: str, value: str | None) -> None:
    row = s.get(m.ImageProperty, (image_id, name))
    if value is None:
        if row is None:
            raise errors.Conflict(f"Property {name} does not exist.")
        s.delete(row)
    elif row is None:
        s.add(m.ImageProperty(image_id=image_id, name=name, value=value))
    else:
        row.value = value


# --- create, read, list ------------------------------------------------------------------------


def _quota_check(s: Session, owner: str, quota: Quota, extra_bytes: int = 0,
                 new_images: int = 0) -> None:
    count, total = s.execute(
        select(func.count(m.Image.id), func.coalesce(func.sum(m.Image.size), 0))
        .where(m.Image.owner == owner)).one()
    if new_images and count + new_images > quota.image_count:
        raise errors.PayloadTooLarge(
            f"Quota exceeded: this project may have at most {quota.image_count} images.")
    if extra_bytes and total + extra_bytes > quota.image_size_total:
        raise errors.PayloadTooLarge(
            f"Quota exceeded: this project may store at most {quota.image_size_total} bytes "
            "of images.")


def create(s: Session, ctx: Context, values: Mapping[str, Any], quota: Quota) -> ImageView:
    """POST /v2/images. Raises BadRequest/Forbidden/Conflict/PayloadTooLarge (quota)."""
    policy.enforce(ctx, "add_image")
    for key in values:
        if key in READ_ONLY and key != "id":
            raise errors.Forbidden(f"Attribute '{key}' is read-only.")
    image_id = values.get("id") or str(uuid.uuid4())
    try:
        image_id = str(uuid.UUID(str(image_id)))
    except ValueError as e:
        raise errors.BadRequest(f"Invalid value for 'id': {image_id} is not a UUID.") from e
    if s.get(m.Image, image_id) is not None:
        raise errors.Conflict(f"An image with identifier {image_id} already exists")
    owner_given = values.get("owner")
    if owner_given is not None and (not isinstance(owner_given, str) or len(owner_given) > 255):
        raise errors.BadRequest("Invalid value for 'owner': a string of at most 255 characters")
    owner = (values.get("owner") if values.get("owner") and policy.allowed(ctx, "set_image_owner")
             else ctx.project_id)
    if owner is None:
        raise errors.Forbidden("Images are created with a project-scoped token.")
    _quota_check(s, owner, quota, new_images=1)
    row = m.Image(id=image_id, owner=owner, status="queued", visibility="shared",
                  protected=False, os_hidden=False, min_disk=0, min_ram=0)
    props: dict[str, str] = {}
    tags: list[str] = []
    for key, value in values.items():
        if key in ("id", "owner"):
            continue
        checked = _check_attr(key, value, ctx)
        if key == "tags":
            tags = checked
        elif key in BASE_ATTRS:
            setattr(row, key, checked)
        else:
            props[key] = checked
    s.add(row)
    s.flush()
    _set_tags(s, image_id, tags)
    for name, value in props.items():
        s.add(m.ImageProperty(image_id=image_id, name=name, value=value))
    s.flush()
    return view(s, row)


def get(s: Session, ctx: Context, image_id: str) -> ImageView:
    return view(s, _load(s, ctx, image_id))


def _sort(filters: Mapping[str, str]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    if "sort" in filters:
        for part in filters["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            keys.append((key, direction or "desc"))
    else:
        sort_keys = [k for k in filters.get("sort_key", "").split(",") if k] or ["created_at"]
        dirs = [d for d in filters.get("sort_dir", "").split(",") if d] or ["desc"]
        keys = [(k, dirs[min(i, len(dirs) - 1)]) for i, k in enumerate(sort_keys)]
    for key, direction in keys:
        if key not in SORT_KEYS:
            raise errors.BadRequest(f"Unsupported sort key: {key}")
        if direction not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid sort direction: {direction}")
    if "id" not in [k for k, _ in keys]:
        keys.append(("id", keys[-1][1]))
    return keys


def _int_filter(filters: Mapping[str, str], name: str) -> int | None:
    if name not in filters:
        return None
    try:
        value = int(filters[name])
    except ValueError as e:
        raise errors.BadRequest(f"Invalid value for '{name}': an integer is required.") from e
    if value < 0:
        raise errors.BadRequest(f"Invalid value for '{name}': it must not be negative.")
    if value >= 1 << 63 and name != "limit":  # sizes are 64-bit columns; a limit is capped
        raise errors.BadRequest(f"Invalid value for '{name}': it must be less than 2**63.")
    return value


SPECIAL_FILTERS = {"limit", "marker", "sort", "sort_key", "sort_dir", "member_status",
                   "size_min", "size_max", "tag", "visibility"}


def list_images(s: Session, ctx: Context, filters: Mapping[str, str], tags: Sequence[str] = ()
                ) -> tuple[list[ImageView], str | None]:
    """GET /v2/images: one page of images and the marker of the next page (None at the end)."""
    query = select(m.Image)
    member_status = filters.get("member_status", "accepted")
    if member_status not in ("accepted", "pending", "rejected", "all"):
        raise errors.BadRequest(f"Invalid value for 'member_status': {member_status}")
    statuses = ["accepted", "pending", "rejected"] if member_status == "all" else [member_status]
    visibility = filters.get("visibility")
    if visibility is not None and visibility not in (*VISIBILITIES, "all"):
        raise errors.BadRequest(f"Invalid value for 'visibility': {visibility}")
    if policy.allowed(ctx, "context_is_admin"):
        if visibility not in (None, "all"):
            query = query.where(m.Image.visibility == visibility)
    else:
        own = m.Image.owner == ctx.project_id
        shared = and_(m.Image.visibility == "shared", _member_of(ctx, statuses))
        by_visibility: dict[str | None, ColumnElement[bool]] = {
            None: or_(own, m.Image.visibility == "public", shared,
                      and_(m.Image.visibility == "community", own)),
            "all": or_(own, m.Image.visibility.in_(("public", "community")), shared),
            "public": m.Image.visibility == "public",
            "community": m.Image.visibility == "community",
            "private": and_(own, m.Image.visibility == "private"),
            "shared": and_(m.Image.visibility == "shared", or_(own, shared)),
        }
        query = query.where(by_visibility[visibility])
    for name in ("name", "status", "disk_format", "container_format", "owner", "id"):
        if name in filters:
            query = query.where(getattr(m.Image, name) == filters[name])
    for name in ("protected", "os_hidden"):
        if name in filters:
            query = query.where(getattr(m.Image, name) == (filters[name].lower() == "true"))
    if "os_hidden" not in filters:
        query = query.where(m.Image.os_hidden.is_(False))
    size_min, size_max = _int_filter(filters, "size_min"), _int_filter(filters, "size_max")
    if "size" in filters:
        query = query.where(m.Image.size == _int_filter(filters, "size"))
    if size_min is not None:
        query = query.where(m.Image.size >= size_min)
    if size_max is not None:
        query = query.where(m.Image.size <= size_max)
    for tag in tags:
        query = query.where(exists().where(m.ImageTag.image_id == m.Image.id,
                                           m.ImageTag.tag == tag))
    for name, value in filters.items():
        if name in SPECIAL_FILTERS or name in BASE_ATTRS or name in READ_ONLY or name in (
                "size", "protected", "os_hidden"):
            continue
        query = query.where(exists().where(
            m.ImageProperty.image_id == m.Image.id, m.ImageProperty.name == name,
            m.ImageProperty.value == value))
    limit = _int_filter(filters, "limit")
    limit = DEFAULT_LIMIT if limit is None else min(limit, MAX_LIMIT)
    order = _sort(filters)
    if "marker" in filters:
        marker = s.scalars(select(m.Image).where(m.Image.id == filters["marker"])).first()
        if marker is None:
            raise errors.BadRequest(f"Invalid marker. Image {filters['marker']} could not be found.")
        query = query.where(_after(marker, order))
    for key, direction in order:
        query = query.order_by(_key(key).asc() if direction == "asc" else _key(key).desc())
    rows = list(s.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return _views(s, rows), (rows[-1].id if more and rows else None)


NULLABLE_DEFAULTS: dict[str, Any] = {"name": "", "container_format": "", "disk_format": "",
                                     "size": -1, "owner": ""}


def _key(name: str) -> Any:
    return keyset.key(m.Image, name, NULLABLE_DEFAULTS)


def _after(marker: m.Image, order: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the (key, direction) order: keyset paging."""
    return keyset.after(m.Image, marker, order, NULLABLE_DEFAULTS)


# --- update, delete, tags ----------------------------------------------------------------------


def update(s: Session, ctx: Context, image_id: str,
           changes: Sequence[tuple[str, str, Any]]) -> ImageView:
    """Apply JSON-patch style changes (op, attribute, value) all-or-nothing."""
    row = _load(s, ctx, image_id)
    _may_modify(ctx, row)
    props = dict(view(s, row).properties)
    for op, name, value in changes:
        if name in READ_ONLY:
            raise errors.Forbidden(f"Attribute '{name}' is read-only.")
        if name in ("visibility",) and op == "remove":
            raise errors.Forbidden(f"Attribute '{name}' is reserved.")
        if name == "tags":
            _set_tags(s, image_id, _check_attr("tags", [] if op == "remove" else value, ctx))
        elif name in BASE_ATTRS:
            if op == "remove":
                raise errors.Forbidden(f"Attribute '{name}' is reserved.")
            if name in ("disk_format", "container_format") and row.status != "queued" \
                    and value != getattr(row, name):
                raise errors.Forbidden(f"Attribute {name} can be only replaced for a queued image.")
            setattr(row, name, _check_attr(name, value, ctx))
        elif op == "remove":
            if name not in props:
                raise errors.Conflict(f"Property {name} does not exist.")
            _set_property(s, image_id, name, None)
            props.pop(name)
        else:
            if op == "replace" and name not in props:
                raise errors.Conflict(f"Property {name} does not exist.")
            _set_property(s, image_id, name, _check_attr(name, value, ctx))
            props[name] = value
    row.updated_at = utcnow()
    s.flush()
    return view(s, row)


def delete(s: Session, ctx: Context, image_id: str) -> None:
    """Delete the record; the caller removes the file after the transaction commits."""
    row = _load(s, ctx, image_id)
    _may_modify(ctx, row)
    if row.protected:
        raise errors.Forbidden(f"Image {image_id} is protected and cannot be deleted.")
    # An upload still in flight notices the record is gone (finish_upload) and discards its data.
    s.delete(row)


def add_tag(s: Session, ctx: Context, image_id: str, tag: str) -> None:
    row = _load(s, ctx, image_id)
    _may_modify(ctx, row)
    _check_attr("tags", [tag], ctx)
    if s.get(m.ImageTag, (image_id, tag)) is None:
        count = s.scalar(select(func.count()).where(m.ImageTag.image_id == image_id)) or 0
        if count >= 128:
            raise errors.PayloadTooLarge("An image may have at most 128 tags.")
        s.add(m.ImageTag(image_id=image_id, tag=tag))
    row.updated_at = utcnow()


def remove_tag(s: Session, ctx: Context, image_id: str, tag: str) -> None:
    row = _load(s, ctx, image_id)
    _may_modify(ctx, row)
    found = s.get(m.ImageTag, (image_id, tag))
    if found is None:
        raise errors.NotFound(f"Tag {tag} not found on image {image_id}")
    s.delete(found)
    row.updated_at = utcnow()


# --- data --------------------------------------------------------------------------------------


def begin_upload(s: Session, ctx: Context, image_id: str, quota: Quota,
                 length: int | None) -> tuple[m.Image, int]:
    """Move a queued image to ``saving``; returns it and how many bytes the quota still allows.

    Raises Conflict when the image is not queued (a second upload), Forbidden for non-owners.
    """
    row = _load(s, ctx, image_id)
    _may_modify(ctx, row)
    if row.owner is None:
        raise errors.Conflict("Image has no owner")
    used = s.scalar(select(func.coalesce(func.sum(m.Image.size), 0))
                    .where(m.Image.owner == row.owner)) or 0
    room = quota.image_size_total - int(used)
    if length is not None and length > room:
        raise errors.PayloadTooLarge(
            f"Quota exceeded: the upload of {length} bytes would exceed the project's image "
            f"storage quota ({quota.image_size_total} bytes).")
    changed = s.execute(
        sql_update(m.Image).where(m.Image.id == image_id, m.Image.status == "queued")
        .values(status="saving", updated_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise errors.Conflict(
            f"Image status transition from {row.status} to saving is not allowed")
    return row, room


def finish_upload(s: Session, image_id: str, size: int, md5: str, sha512: str,
                  virtual_size: int | None) -> bool:
    """Record the stored data and make the image active. False if the image was deleted."""
    changed = s.execute(
        sql_update(m.Image).where(m.Image.id == image_id, m.Image.status == "saving").values(
            status="active", size=size, checksum=md5, os_hash_algo="sha512",
            os_hash_value=sha512, virtual_size=virtual_size, updated_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed)


def fail_upload(s: Session, image_id: str) -> None:
    """A failed upload leaves the image queued again, as Glance does."""
    s.execute(sql_update(m.Image).where(m.Image.id == image_id, m.Image.status == "saving")
              .values(status="queued", updated_at=utcnow()))


def mark_saving(s: Session, image_id: str) -> None:
    """A snapshot is being written into this image by a host (createImage)."""
    s.execute(sql_update(m.Image).where(m.Image.id == image_id, m.Image.status == "queued")
              .values(status="saving", updated_at=utcnow()))


def readable_data(s: Session, ctx: Context, image_id: str) -> m.Image | None:
    """The image whose data may be downloaded, or None when it has no data yet (204)."""
    row = _load(s, ctx, image_id)
    if row.status == "deactivated":
        policy.enforce(ctx, "download_deactivated_image")
    if row.status != "active" and row.status != "deactivated":
        return None
    return row


def set_active_state(s: Session, ctx: Context, image_id: str, active: bool) -> None:
    """POST actions/deactivate and actions/reactivate (the owner's members, or admin)."""
    row = _load(s, ctx, image_id)
    _may_modify(ctx, row)
    allowed_from = ("deactivated", "active") if active else ("active", "deactivated")
    if row.status not in allowed_from:
        raise errors.BadRequest(f"Not allowed to (de)activate an image in status {row.status}.")
    row.status = "active" if active else "deactivated"
    row.updated_at = utcnow()
