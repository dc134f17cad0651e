"""Request and response plumbing every API module shares.

``body`` parses and validates JSON into a pydantic model (400 with the field named on failure);
``json_object`` reads a body that must be a JSON object, with the service's own messages;
``call`` runs a service function in the thread pool inside one database transaction, with the
caller's ``Context`` built from their token in that same transaction.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sausage import errors

__all__ = ["body", "json_object", "call", "call_public", "in_thread", "json", "empty", "filters",
           "base_url", "MAX_BODY"]

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

MAX_BODY = 1 << 20


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error["loc"])
    if error["type"] == "json_invalid":
        return "Malformed request body: the body is not valid JSON."
    if error["type"] == "missing":
        return f"Invalid input for field '{where}': '{error['loc'][-1]}' is a required property."
    if error["type"] == "extra_forbidden":
        return f"Invalid input for field '{where}': additional properties are not allowed."
    return f"Invalid input for field '{where}': {error['msg']}."


async def body(request: Request, model: type[M]) -> M:
    """The request body as ``model``; BadRequest naming the first bad field otherwise."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise errors.PayloadTooLarge("Request is too large.")
    if not raw.strip():
        raise errors.BadRequest("Malformed request body: a JSON body is required.")
    try:
        return model.model_validate_json(raw, strict=True)
    except pydantic.ValidationError as e:
        raise errors.BadRequest(_describe(e.errors()[0])) from e


async def json_object(request: Request, malformed: str, not_object: str, kind: str = ""
                      ) -> dict[str, Any]:
    """The request body as a JSON object: PayloadTooLarge past ``MAX_BODY``, BadRequest
    ``malformed`` for an empty or unparsable body, ``not_object`` for any other JSON value
    (``kind``: the service's error name for both)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise errors.PayloadTooLarge("Request is too large.")
    try:
        value = jsonlib.loads(raw or b"")
    except ValueError as e:
        raise errors.BadRequest(malformed, kind=kind) from e
    if not isinstance(value, dict):
        raise errors.BadRequest(not_object, kind=kind)
    return value


def _state(request: Request) -> Any:
    return request.app.state.cloud


async def call(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Authenticate the caller's X-Auth-Token and run ``fn(session, context, *args)`` in one
    transaction, off the event loop. Raises Unauthorized without a live token."""
    cloud = _state(request)
    token_id = request.headers.get("x-auth-token")
    if not token_id:
        raise errors.Unauthorized("The request you have made requires authentication.")
    request_id = request.state.request_id

    def work() -> T:
        with cloud.db.transaction() as s:
            token = cloud.tokens.validate(s, token_id, unauthorized=True, nocatalog=True)
            ctx = token.context(request_id)
            request.state.user_id = ctx.user_id
            request.state.project_id = ctx.project_id
            return fn(s, ctx, *args, **kwargs)

    return await run_in_threadpool(work)


async def call_public(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(session, *args)`` in one transaction without authenticating the caller."""
    cloud = _state(request)

    def work() -> T:
        with cloud.db.transaction() as s:
            return fn(s, *args, **kwargs)

    return await run_in_threadpool(work)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work (file I/O, subprocesses) off the event loop."""
    return await run_in_threadpool(fn, *args)


def json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(content, status_code=status, headers=headers)


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers=headers)


def filters(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def base_url(request: Request, service: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/{service}"

