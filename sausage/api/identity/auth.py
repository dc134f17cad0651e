"""``/v3/auth/*``: issue, validate, check and revoke tokens; the catalog and scopes a token has."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire
from sausage.api.identity import render, schemas
from sausage.api.identity.crud import base
from sausage.services.context import Context
from sausage.services.identity import resources, roles
from sausage.services.identity.tokens import Token

__all__ = ["ROUTES"]


def _subject(request: Request) -> str:
    subject = request.headers.get("x-subject-token")
    if not subject:
        raise errors.BadRequest("The X-Subject-Token header is required.")
    return subject


def _hashes(auth: dict[str, Any]) -> bool:
    """Does this login check a password or an application credential's secret (Argon2)?"""
    identity = auth.get("identity")
    methods = identity.get("methods") if isinstance(identity, dict) else None
    return isinstance(methods, list) and any(
        m in ("password", "application_credential") for m in methods)


def _nocatalog(request: Request) -> bool:
    return "nocatalog" in request.query_params


async def tokens(request: Request) -> Response:
    cloud = request.app.state.cloud
    if request.method == "POST":
        model = await wire.body(request, schemas.AuthBody)
        auth = model.auth.model_dump(exclude_unset=True, by_alias=True)
        call = wire.call_public_hashing if _hashes(auth) else wire.call_public
        token: Token = await call(request, cloud.tokens.issue, auth, _nocatalog(request))
        request.state.user_id = token.user.id
        request.state.project_id = token.project.id if token.project else None
        return wire.json(render.token(token), 201, {"X-Subject-Token": token.id})
    subject = _subject(request)
    if request.method == "DELETE":
        await wire.call(request, lambda s, ctx: cloud.tokens.revoke(s, ctx, subject))
        return wire.empty()
    token = await wire.call(
        request, lambda s, ctx: cloud.tokens.check(s, ctx, subject, _nocatalog(request))
    )
    if request.method == "HEAD":
        return wire.empty(200, {"X-Subject-Token": subject})
    return wire.json(render.token(token), 200, {"X-Subject-Token": subject})


def _own_token(s: Session, ctx: Context, request: Request) -> Token:
    token_id = request.headers["x-auth-token"]
    token: Token = request.app.state.cloud.tokens.validate(s, token_id, unauthorized=True)
    return token


async def catalog(request: Request) -> Response:
    token = await wire.call(request, _own_token, request)
    return wire.json({"catalog": list(token.catalog), "links": {
        "self": f"{base(request)}/v3/auth/catalog", "previous": None, "next": None}})


def _my_projects(s: Session, ctx: Context) -> list[Any]:
    return resources.list_projects_of_user(s, ctx.user_id)


async def projects(request: Request) -> Response:
    rows = await wire.call(request, _my_projects)
    return wire.json(render.collection(
        "projects", [render.project(r, base(request)) for r in rows],
        f"{base(request)}/v3/auth/projects"))


def _my_domains(s: Session, ctx: Context) -> list[Any]:
    return [d for d in resources.list_domains_of_user(s, ctx.user_id)
            if roles.effective_roles(s, ctx.user_id, domain_id=d.id)]


async def domains(request: Request) -> Response:
    rows = await wire.call(request, _my_domains)
    return wire.json(render.collection(
        "domains", [render.domain(r, base(request)) for r in rows],
        f"{base(request)}/v3/auth/domains"))


async def system(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    return wire.json({"system": [], "links": {
        "self": f"{base(request)}/v3/auth/system", "previous": None, "next": None}})


ROUTES = [
    Route("/v3/auth/tokens", tokens, methods=["POST", "GET", "HEAD", "DELETE"]),
    Route("/v3/auth/catalog", catalog, methods=["GET", "HEAD"]),
    Route("/v3/auth/projects", projects, methods=["GET", "HEAD"]),
    Route("/v3/auth/domains", domains, methods=["GET", "HEAD"]),
    Route("/v3/auth/system", system, methods=["GET", "HEAD"]),
]
