"""Volume types (Cinder's ``/types``): the default type, admin CRUD, extra specs and the
access lists of private types.

Called by ``api/volume/types.py`` and by the volume service (``resolve`` picks the type of a
new volume). Visibility follows Cinder: everybody sees public types; a private type is seen
by admins and by the projects on its access list; anything else is "could not be found".
"""

from __future__ import annotations

import ast
import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import volume as vm
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context

__all__ = ["DEFAULT_TYPE", "default_type", "project_default", "resolve", "get", "listing",
           "create", "update", "delete_type", "extra_specs", "set_extra_specs",
           "delete_extra_spec", "access", "add_access", "remove_access", "parse_bool"]

DEFAULT_TYPE = "__DEFAULT__"
USER_VISIBLE_EXTRA_SPECS = ("RESKEY:availability_zones", "multiattach", "replication_enabled")
_PER_TYPE = ("volumes", "gigabytes", "snapshots")  # the per-type quota keys' prefixes


def parse_bool(value: Any, field: str) -> bool:
    """Cinder's strict boolean: a JSON boolean or one of the usual strings; 400 otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "t", "yes", "y", "on", "1"):
            return True
        if low in ("false", "f", "no", "n", "off", "0"):
            return False
    raise errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                            f"{value!r} is not of type 'boolean'")


def default_type(s: Session) -> vm.VolumeType:
    """The default volume type, made (public) the first time it is asked for."""
    row = s.scalars(select(vm.VolumeType).where(vm.VolumeType.name == DEFAULT_TYPE)).first()
    if row is None:
        row = vm.VolumeType(id=str(uuid.uuid4()), name=DEFAULT_TYPE,
                            description="Default Volume Type", is_public=True)
        s.add(row)
        s.flush()
    return row


def project_default(s: Session, project_id: str | None) -> vm.VolumeType:
    """The type a project's volumes get when they name none: its own default (3.62's
    default-types) if an admin set one, else the cloud's default type."""
    if project_id is not None:
        own = s.get(vm.VolumeDefaultType, project_id)
        if own is not None:
            row = s.get(vm.VolumeType, own.volume_type_id)
            if row is not None:
                return row
    return default_type(s)


def _can_see(s: Session, ctx: Context, row: vm.VolumeType) -> bool:
    if row.is_public or policy.allowed(ctx, "context_is_admin"):
        return True
    if ctx.project_id is None:
        return False
    return s.get(vm.VolumeTypeAccess, (row.id, ctx.project_id)) is not None


def get(s: Session, ctx: Context, type_id: str) -> vm.VolumeType:
    """The type with id ``type_id`` (``default`` is the default type); NotFound otherwise."""
    if type_id == "default":
        return project_default(s, ctx.project_id)
    row = s.get(vm.VolumeType, type_id)
    if row is None or not _can_see(s, ctx, row):
        raise errors.NotFound(f"Volume type {type_id} could not be found.")
    return row


def resolve(s: Session, ctx: Context, name_or_id: str | None) -> vm.VolumeType:
    """The type a new volume gets: the default for None, else the visible type with that id
    or name. NotFound with Cinder's message otherwise."""
    if name_or_id is None:
        return project_default(s, ctx.project_id)
    row = s.get(vm.VolumeType, name_or_id)
    if row is not None and _can_see(s, ctx, row):
        return row
    row = s.scalars(select(vm.VolumeType).where(vm.VolumeType.name == name_or_id)).first()
    if row is None and name_or_id == DEFAULT_TYPE:
        row = default_type(s)
    if row is not None and _can_see(s, ctx, row):
        return row
    try:
        uuid.UUID(name_or_id)
    except ValueError:
        raise errors.NotFound(
            f"Volume type with name {name_or_id} could not be found.") from None
    raise errors.NotFound(f"Volume type {name_or_id} could not be found.")


def dict_filter(text: str, field: str) -> dict[str, str]:
    """A dict-valued list filter (``metadata``, ``extra_specs``): a dict as JSON's or Python's
    text (Tempest sends ``str(dict)``); 400 with Cinder's message otherwise."""
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    raise errors.BadRequest(f"Invalid input received: Invalid filter {field}: {text}")


def listing(s: Session, ctx: Context, is_public: str | None,
            extra_specs: str | None = None) -> list[vm.VolumeType]:
    """The types the caller may list, by name. ``is_public`` is the query parameter: absent
    means public ones and private ones the caller's project may use; an admin may ask for
    ``true``/``false`` or ``none`` (every type). ``extra_specs`` (``{"k": "v"}``) keeps the
    types with those specs; a user filtering on a spec users may not read gets nothing."""
    default_type(s)
    wanted = dict_filter(extra_specs, "extra_specs") if extra_specs is not None else {}
    admin = policy.allowed(ctx, "context_is_admin")
    if not admin and any(k not in USER_VISIBLE_EXTRA_SPECS for k in wanted):
        return []
    query = select(vm.VolumeType).order_by(vm.VolumeType.name)
    accessible = exists().where(vm.VolumeTypeAccess.volume_type_id == vm.VolumeType.id,
                                vm.VolumeTypeAccess.project_id == (ctx.project_id or ""))
    if not admin or is_public is None:
        query = query.where(or_(vm.VolumeType.is_public.is_(True), accessible))
    elif is_public.strip().lower() != "none":
        query = query.where(vm.VolumeType.is_public.is_(parse_bool(is_public, "is_public")))
    for key, value in wanted.items():
        query = query.where(exists().where(
            vm.VolumeTypeExtraSpec.volume_type_id == vm.VolumeType.id,
            vm.VolumeTypeExtraSpec.key == key, vm.VolumeTypeExtraSpec.value == value))
    return list(s.scalars(query))


def _check_name(name: Any, *, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. "
                                f"Value: {name!r}. It must be a non-empty string.")
    if len(name) > 255:
        raise errors.BadRequest(f"Invalid input for field/attribute {field}. "
                                "It is too long (more than 255 characters).")
    return name


def _check_description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise errors.BadRequest("Invalid input for field/attribute description. It must be a "
                                "string of at most 255 characters.")
    return value


def _check_specs(specs: Any) -> dict[str, str]:
    if specs is None:
        return {}
    if not isinstance(specs, dict):
        raise errors.BadRequest("Invalid input for field/attribute extra_specs. It must be an "
                                "object.")
    out: dict[str, str] = {}
    for key, value in specs.items():
        if not key or len(key) > 255 or " " in key:
            raise errors.BadRequest(f"Invalid input for field/attribute extra_specs. Key "
                                    f"'{key}' must be 1-255 characters without spaces.")
        if isinstance(value, bool | int | float) and not isinstance(value, str):
            value = str(value)
        if not isinstance(value, str) or len(value) > 255:
            raise errors.BadRequest(f"Invalid input for field/attribute extra_specs. Value of "
                                    f"'{key}' must be a string of at most 255 characters.")
        out[key] = value
    return out


def _name_taken(s: Session, name: str, but: str | None = None) -> bool:
    query = select(vm.VolumeType.id).where(vm.VolumeType.name == name)
    if but is not None:
        query = query.where(vm.VolumeType.id != but)
    return s.scalars(query).first() is not None


def create(s: Session, ctx: Context, body: Mapping[str, Any]) -> vm.VolumeType:
    """A new type (admin). 409 when the name is taken; 400 for bad fields."""
    policy.enforce(ctx, "volume_extension:types_manage")
    unknown = set(body) - {"name", "description", "extra_specs",
                           "os-volume-type-access:is_public"}
    if unknown:
        raise errors.BadRequest("Additional properties are not allowed "
                                f"({', '.join(sorted(unknown))} unexpected)")
    if "name" not in body:
        raise errors.BadRequest("'name' is a required property")
    name = _check_name(body["name"]).strip()
    description = _check_description(body.get("description"))
    specs = _check_specs(body.get("extra_specs"))
    is_public = parse_bool(body.get("os-volume-type-access:is_public", True),
                           "os-volume-type-access:is_public")
    if _name_taken(s, name):
        raise errors.Conflict(f"Volume Type {name} already exists.")
    row = vm.VolumeType(id=str(uuid.uuid4()), name=name, description=description,
                        is_public=is_public)
    s.add(row)
    s.flush()
    for key, value in specs.items():
        s.add(vm.VolumeTypeExtraSpec(volume_type_id=row.id, key=key, value=value))
    s.flush()
    return row


def _rename_quotas(s: Session, old: str, new: str) -> None:
    """Per-type quota overrides are keyed by the type's name (as in Cinder): follow it."""
    for resource in _PER_TYPE:
        s.execute(sql_update(vm.VolumeQuota).where(vm.VolumeQuota.resource == f"{resource}_{old}")
                  .values(resource=f"{resource}_{new}"))


def update(s: Session, ctx: Context, type_id: str, body: Mapping[str, Any]) -> vm.VolumeType:
    """Change a type's name, description or is_public (admin)."""
    policy.enforce(ctx, "volume_extension:types_manage")
    row = get(s, ctx, type_id)
    unknown = set(body) - {"name", "description", "is_public"}
    if unknown:
        raise errors.BadRequest("Additional properties are not allowed "
                                f"({', '.join(sorted(unknown))} unexpected)")
    name = body.get("name")
    description = body.get("description")
    is_public = body.get("is_public")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise errors.BadRequest("Volume type name can not be empty.")
    if name is None and description is None and is_public is None:
        raise errors.BadRequest("Specify volume type name, description, is_public or a "
                                "combination thereof.")
    if name is not None:
        name = _check_name(name).strip()
        if name != row.name and row.name == DEFAULT_TYPE:
            raise errors.BadRequest("The default volume type cannot be renamed.")
        if _name_taken(s, name, but=row.id):
            raise errors.Conflict(f"Volume Type {name} already exists.")
        if name != row.name:
            _rename_quotas(s, row.name, name)
        row.name = name
    if description is not None:
        row.description = _check_description(description)
    if is_public is not None:
        row.is_public = parse_bool(is_public, "is_public")
    row.updated_at = utcnow()
    s.flush()
    return row


def delete_type(s: Session, ctx: Context, type_id: str) -> None:
    """Remove a type (admin): 400 for the default type or one that volumes use."""
    policy.enforce(ctx, "volume_extension:types_manage")
    row = get(s, ctx, type_id)
    if row.name == DEFAULT_TYPE:
        raise errors.BadRequest(f"The volume type {row.id} is a default volume type and "
                                "cannot be deleted.")
    if s.scalar(select(func.count()).where(vm.VolumeDefaultType.volume_type_id == row.id)):
        raise errors.BadRequest(f"The volume type {row.id} is a default volume type and "
                                "cannot be deleted.")
    used = s.scalar(select(func.count()).where(vm.Volume.volume_type_id == row.id)) or 0
    if used:
        raise errors.BadRequest("Target volume type is still in use.")
    s.execute(delete(vm.VolumeTypeExtraSpec).where(
        vm.VolumeTypeExtraSpec.volume_type_id == row.id))
    s.execute(delete(vm.VolumeTypeAccess).where(vm.VolumeTypeAccess.volume_type_id == row.id))
    s.execute(delete(vm.VolumeQuota).where(
        vm.VolumeQuota.resource.in_([f"{r}_{row.name}" for r in _PER_TYPE])))
    s.delete(row)
    s.flush()


def extra_specs(s: Session, ctx: Context, type_ids: list[str]) -> dict[str, dict[str, str]]:
    """Each type's extra specs, in one query; a non-admin sees only the few user-visible
    keys, as in Cinder."""
    out: dict[str, dict[str, str]] = {t: {} for t in type_ids}
    admin = policy.allowed(ctx, "context_is_admin")
    if type_ids:
        for spec in s.scalars(select(vm.VolumeTypeExtraSpec).where(
                vm.VolumeTypeExtraSpec.volume_type_id.in_(type_ids))):
            if admin or spec.key in USER_VISIBLE_EXTRA_SPECS:
                out[spec.volume_type_id][spec.key] = spec.value
    return out


def _refuse_in_use(s: Session, row: vm.VolumeType) -> None:
    if s.scalars(select(vm.Volume.id).where(vm.Volume.volume_type_id == row.id)
                 .limit(1)).first() is not None:
        raise errors.BadRequest("Volume Type is currently in use.")


def set_extra_specs(s: Session, ctx: Context, type_id: str, specs: Any, *,
                    single: str | None = None) -> dict[str, str]:
    """Create or update extra specs (admin). With ``single`` (PUT of one key) the body must
    hold exactly that key. Returns the specs written."""
    policy.enforce(ctx, "volume_extension:types_extra_specs:create")
    row = get(s, ctx, type_id)
    if not isinstance(specs, dict) or not specs:
        raise errors.BadRequest("Missing required element 'extra_specs' in request body.")
    values = _check_specs(specs)
    if single is not None:
        if len(values) != 1 or single not in values:
            raise errors.BadRequest("Request body and URI mismatch")
    _refuse_in_use(s, row)
    for key, value in values.items():
        spec = s.get(vm.VolumeTypeExtraSpec, (row.id, key))
        if spec is None:
            s.add(vm.VolumeTypeExtraSpec(volume_type_id=row.id, key=key, value=value))
        else:
            spec.value = value
    row.updated_at = utcnow()
    s.flush()
    return values


def delete_extra_spec(s: Session, ctx: Context, type_id: str, key: str) -> None:
    policy.enforce(ctx, "volume_extension:types_extra_specs:delete")
    row = get(s, ctx, type_id)
    _refuse_in_use(s, row)
    spec = s.get(vm.VolumeTypeExtraSpec, (row.id, key))
    if spec is None:
        raise errors.NotFound(f"Volume Type {row.id} has no extra specs with key {key}.")
    s.delete(spec)
    s.flush()


def access(s: Session, ctx: Context, type_id: str) -> list[str]:
    """The projects on a private type's access list (admin); 404 for a public type."""
    policy.enforce(ctx, "volume_extension:volume_type_access")
    row = get(s, ctx, type_id)
    if row.is_public:
        raise errors.NotFound("Access list not available for public volume types.")
    return list(s.scalars(select(vm.VolumeTypeAccess.project_id)
                          .where(vm.VolumeTypeAccess.volume_type_id == row.id)
                          .order_by(vm.VolumeTypeAccess.project_id)))


def _project(project: Any) -> str:
    if not isinstance(project, str) or not project.strip() or len(project) > 255:
        raise errors.BadRequest("Missing required element 'project' in request body.")
    return project


def add_access(s: Session, ctx: Context, type_id: str, project: Any) -> None:
    """Let ``project`` use a private type (admin); 400 for public types, 409 when it may."""
    policy.enforce(ctx, "volume_extension:volume_type_access:addProjectAccess")
    project = _project(project)
    row = get(s, ctx, type_id)
    if row.is_public:
        raise errors.BadRequest("Invalid volume type: Type access modification is not "
                                "applicable to public volume type.")
    if s.get(vm.VolumeTypeAccess, (row.id, project)) is not None:
        raise errors.Conflict(f"Volume type access for {row.id} / {project} combination "
                              "already exists.")
    s.add(vm.VolumeTypeAccess(volume_type_id=row.id, project_id=project))
    s.flush()


def remove_access(s: Session, ctx: Context, type_id: str, project: Any) -> None:
    policy.enforce(ctx, "volume_extension:volume_type_access:removeProjectAccess")
    project = _project(project)
    row = get(s, ctx, type_id)
    if row.is_public:
        raise errors.BadRequest("Invalid volume type: Type access modification is not "
                                "applicable to public volume type.")
    grant = s.get(vm.VolumeTypeAccess, (row.id, project))
    if grant is None:
        raise errors.NotFound(f"Volume type access not found for {row.id} / {project} "
                              "combination.")
    s.delete(grant)
    s.flush()
