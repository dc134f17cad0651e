"""Identity entities → Keystone's JSON shapes. Extra attributes are merged back as Keystone does."""

from __future__ import annotations

import datetime
from typing import Any

from sausage.services.identity.roles import AssignmentView
from sausage.services.identity.tokens import Token

__all__ = [
    "iso", "domain", "project", "user", "group", "role", "region", "service", "endpoint",
    "app_cred", "assignment", "token", "collection",
]


def iso(value: datetime.datetime | None) -> str | None:
    """Keystone's timestamp format: microseconds and a Z."""
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _links(base: str, path: str) -> dict[str, str]:
    return {"self": f"{base}/v3/{path}"}


def _with_extra(row: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {**(row.extra or {}), **body}


def domain(row: Any, base: str) -> dict[str, Any]:
    return _with_extra(row, {
        "id": row.id, "name": row.name, "description": row.description, "enabled": row.enabled,
        "tags": [], "options": {}, "links": _links(base, f"domains/{row.id}"),
    })


def project(row: Any, base: str) -> dict[str, Any]:
    return _with_extra(row, {
        "id": row.id, "name": row.name, "domain_id": row.domain_id,
        "description": row.description, "enabled": row.enabled,
        # Keystone names the domain as the parent of a top-level project.
        "parent_id": row.parent_id or row.domain_id, "is_domain": False,
        "tags": list(row.tags or []), "options": {},
        "links": _links(base, f"projects/{row.id}"),
    })


def user(row: Any, base: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "domain_id": row.domain_id, "enabled": row.enabled,
        "password_expires_at": None, "options": {}, "links": _links(base, f"users/{row.id}"),
    }
    if row.default_project_id:
        body["default_project_id"] = row.default_project_id
    if row.description:
        body["description"] = row.description
    if row.email:
        body["email"] = row.email
    return _with_extra(row, body)


def group(row: Any, base: str) -> dict[str, Any]:
    return _with_extra(row, {
        "id": row.id, "name": row.name, "domain_id": row.domain_id,
        "description": row.description, "links": _links(base, f"groups/{row.id}"),
    })


def role(row: Any, base: str) -> dict[str, Any]:
    return _with_extra(row, {
        "id": row.id, "name": row.name, "domain_id": row.domain_id,
        "description": row.description or None, "options": {},
        "links": _links(base, f"roles/{row.id}"),
    })


def region(row: Any, base: str) -> dict[str, Any]:
    return _with_extra(row, {
        "id": row.id, "description": row.description, "parent_region_id": row.parent_region_id,
        "links": _links(base, f"regions/{row.id}"),
    })


def service(row: Any, base: str) -> dict[str, Any]:
    extra = {k: v for k, v in (row.extra or {}).items() if k != "managed_by"}
    return {**extra, "id": row.id, "type": row.type, "name": row.name,
            "description": row.description, "enabled": row.enabled,
            "links": _links(base, f"services/{row.id}")}


def endpoint(row: Any, base: str) -> dict[str, Any]:
    return _with_extra(row, {
        "id": row.id, "service_id": row.service_id, "interface": row.interface,
        "region_id": row.region_id, "region": row.region_id, "url": row.url,
        "enabled": row.enabled, "links": _links(base, f"endpoints/{row.id}"),
    })


def app_cred(row: Any, roles: list[Any], base: str, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "description": row.description or None,
        "user_id": row.user_id, "project_id": row.project_id,
        "expires_at": _naive_iso(row.expires_at), "unrestricted": row.unrestricted,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id} for r in roles],
        "access_rules": [],
        "links": _links(base, f"users/{row.user_id}/application_credentials/{row.id}"),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def assignment(view: AssignmentView, base: str, names: bool) -> dict[str, Any]:
    def ref(row: Any, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": row.id}
        if names:
            out["name"] = row.name
            if kind in ("user", "group", "project"):
                out["domain"] = {"id": row.domain_id,
                                 "name": view.domain_names.get(row.domain_id, "")}
        return out

    scope: dict[str, Any] = {view.target_kind: ref(view.target, view.target_kind)}
    if view.inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
    target = f"{view.target_kind}s/{view.target.id}"
    actor = f"{view.actor_kind}s/{view.actor.id}"
    if view.via_group is not None:
        target = f"{view.target_kind}s/{view.target.id}"
        links = {
            "assignment": f"{base}/v3/{target}/groups/{view.via_group.id}/roles/{view.role.id}",
            "membership": f"{base}/v3/groups/{view.via_group.id}/users/{view.actor.id}",
        }
    else:
        links = {"assignment": f"{base}/v3/{target}/{actor}/roles/{view.role.id}"}
    role_ref: dict[str, Any] = {"id": view.role.id}
    if names:
        role_ref["name"] = view.role.name
    return {"role": role_ref, view.actor_kind: ref(view.actor, view.actor_kind),
            "scope": scope, "links": links}


def token(t: Token) -> dict[str, Any]:
    body: dict[str, Any] = {
        "methods": list(t.methods),
        "user": {
            "id": t.user.id, "name": t.user.name,
            "domain": {"id": t.user_domain.id, "name": t.user_domain.name},
            "password_expires_at": None,
        },
        "audit_ids": list(t.audit_ids),
        "expires_at": iso(t.expires_at),
        "issued_at": iso(t.issued_at),
    }
    if t.project is not None and t.project_domain is not None:
        body["project"] = {
            "id": t.project.id, "name": t.project.name,
            "domain": {"id": t.project_domain.id, "name": t.project_domain.name},
        }
        body["is_domain"] = False
    if t.domain is not None:
        body["domain"] = {"id": t.domain.id, "name": t.domain.name}
    if t.project is not None or t.domain is not None:
        body["roles"] = [{"id": r.id, "name": r.name} for r in t.roles]
        body["catalog"] = list(t.catalog)
    if t.application_credential is not None:
        body["application_credential"] = {
            "id": t.application_credential.id, "name": t.application_credential.name,
            "restricted": not t.application_credential.unrestricted,
        }
    return {"token": body}


def collection(key: str, items: list[dict[str, Any]], self_url: str) -> dict[str, Any]:
    return {key: items, "links": {"self": self_url, "previous": None, "next": None}}


def _naive_iso(value: datetime.datetime | None) -> str | None:
    """Application credentials echo their expiry as Keystone stores it: UTC, no zone suffix."""
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat()
