"""Domains, projects, users and groups, and the user and group sub-resources."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage.api import wire
from sausage.api.identity import render, schemas
from sausage.api.identity.crud import Resource, base, routes
from sausage.services.identity import resources as svc

__all__ = ["ROUTES"]

DOMAINS = Resource(
    path="/v3/domains", member="domain", collection="domains", render=render.domain,
    get=svc.get_domain, list=svc.list_domains, create=svc.create_domain,
    update=svc.update_domain, delete=svc.delete_domain,
    create_body=schemas.DomainBody, update_body=schemas.DomainPatch,
)
PROJECTS = Resource(
    path="/v3/projects", member="project", collection="projects", render=render.project,
    get=svc.get_project, list=svc.list_projects, create=svc.create_project,
    update=svc.update_project, delete=svc.delete_project,
    create_body=schemas.ProjectBody, update_body=schemas.ProjectPatch,
)
USERS = Resource(
    path="/v3/users", member="user", collection="users", render=render.user,
    get=svc.get_user, list=svc.list_users, create=svc.create_user,
    update=svc.update_user, delete=svc.delete_user,
    create_body=schemas.UserBody, update_body=schemas.UserPatch,
)
GROUPS = Resource(
    path="/v3/groups", member="group", collection="groups", render=render.group,
    get=svc.get_group, list=svc.list_groups, create=svc.create_group,
    update=svc.update_group, delete=svc.delete_group,
    create_body=schemas.GroupBody, update_body=schemas.GroupPatch,
)


async def user_password(request: Request) -> Response:
    model = await wire.body(request, schemas.PasswordChangeBody)
    await wire.call_public_hashing(
        request, svc.change_password, request.path_params["id"],
        model.user.original_password, model.user.password,
    )
    return wire.empty()


async def user_projects(request: Request) -> Response:
    user_id = request.path_params["id"]
    rows = await wire.call(request, svc.list_user_projects, user_id, wire.filters(request))
    return wire.json(render.collection(
        "projects", [render.project(r, base(request)) for r in rows],
        f"{base(request)}/v3/users/{user_id}/projects"))


async def user_groups(request: Request) -> Response:
    user_id = request.path_params["id"]
    rows = await wire.call(request, svc.list_user_groups, user_id)
    return wire.json(render.collection(
        "groups", [render.group(r, base(request)) for r in rows],
        f"{base(request)}/v3/users/{user_id}/groups"))


async def group_users(request: Request) -> Response:
    group_id = request.path_params["id"]
    rows = await wire.call(request, svc.list_group_users, group_id, wire.filters(request))
    return wire.json(render.collection(
        "users", [render.user(r, base(request)) for r in rows],
        f"{base(request)}/v3/groups/{group_id}/users"))


async def group_member(request: Request) -> Response:
    group_id, user_id = request.path_params["id"], request.path_params["user_id"]
    action = {"PUT": svc.add_user_to_group, "DELETE": svc.remove_user_from_group}.get(
        request.method, svc.check_user_in_group)
    await wire.call(request, action, group_id, user_id)
    return wire.empty()


ROUTES = [
    *routes(DOMAINS), *routes(PROJECTS), *routes(USERS), *routes(GROUPS),
    Route("/v3/users/{id}/password", user_password, methods=["POST"]),
    Route("/v3/users/{id}/projects", user_projects, methods=["GET", "HEAD"]),
    Route("/v3/users/{id}/groups", user_groups, methods=["GET", "HEAD"]),
    Route("/v3/groups/{id}/users", group_users, methods=["GET", "HEAD"]),
    Route("/v3/groups/{id}/users/{user_id}", group_member, methods=["PUT", "HEAD", "DELETE"]),
]
