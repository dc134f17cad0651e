"""Request and response plumbing every API module shares.

Request bodies are decoded in ONE place, here, for every service:

- ``await json_value(request, malformed)``: the body as a JSON value. Past ``MAX_BODY`` it is a
  413; a Content-Type the service refuses is its own answer (``MEDIA``); an empty body, bytes
  that are not strict UTF-8, text that is not JSON, nesting deeper than ``MAX_DEPTH``, a number
  that is not finite (``1e999``, ``NaN``, ``Infinity``), an integer outside signed 64 bits, or a
  string with a lone surrogate (raw or escaped ``\\ud800``) or a NUL character are a 400 that
  starts with the service's ``malformed`` message and says why. ``decode(raw)`` is the same
  check for a caller that holds the bytes already (the fuzz tier can use it as the oracle).
- ``await json_object(request, malformed, not_object)``: ``json_value`` that must be an object.
- ``await body(request, model)``: ``json_object`` validated into a pydantic model (400 with the
  field named on failure).

``call`` runs a service function in the thread pool inside one database transaction, with the
caller's ``Context`` built from their token in that same transaction; ``call_hashing`` and
``call_public_hashing`` do the same for work that hashes a password, in ``hashing.Lane``.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sausage import errors
from sausage.api import hashing

__all__ = ["body", "json_value", "json_object", "decode", "media_type", "Malformed", "MEDIA",
           "MediaRule", "call", "call_public", "call_hashing", "call_public_hashing", "in_thread",
           "json", "empty", "filters", "base_url", "MAX_BODY", "MAX_DEPTH", "INT64_MIN", "INT64_MAX"]

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

MAX_BODY = 1 << 20
# Real bodies nest five or six levels (a server's block_device_mapping_v2 is the deepest); 32
# leaves room for anything a client builds and keeps every later walk over the value shallow.
MAX_DEPTH = 32
# Every integer column (SQLAlchemy BigInteger on PostgreSQL and MariaDB, INTEGER on SQLite)
# stores at most a signed 64-bit value: a larger one is refused before any query sees it.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# A lone UTF-16 surrogate (only reachable through an escape such as "\ud800": strict UTF-8 never
# decodes to one) cannot be encoded back to UTF-8, so it breaks every later read of the value; a
# NUL cannot be stored in a PostgreSQL text column.
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


class Malformed(ValueError):
    """Why a body is not acceptable JSON (the text after the service's own message)."""


def _integer(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise Malformed(f"the integer {text[:24]}{'...' if len(text) > 24 else ''} is outside "
                        "the signed 64-bit range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Malformed(f"the number {text[:24]} is too large to store")
    return value


def _constant(text: str) -> Any:
    raise Malformed(f"{text} is not a JSON number")


def _walk(value: Any) -> None:
    """Depth and strings of a decoded value, without recursion (the value may be deep)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise Malformed("a string holds a lone UTF-16 surrogate or a NUL character")
            continue
        if isinstance(item, dict):
            children: list[Any] = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise Malformed(f"it nests deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def decode(raw: bytes) -> Any:
    """The JSON value of ``raw``; Malformed saying why when it is not strict UTF-8, not JSON, too
    deep, or holds a number or string no column can store."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Malformed(f"byte {e.start} is not valid UTF-8") from e
    try:
        value = jsonlib.loads(text, parse_int=_integer, parse_float=_float,
                              parse_constant=_constant)
    except Malformed:
        raise
    except RecursionError as e:
        raise Malformed(f"it nests deeper than {MAX_DEPTH} levels") from e
    except ValueError as e:  # JSONDecodeError, and int() past Python's digit limit
        raise Malformed("the body is not valid JSON") from e
    _walk(value)
    return value


# --- Content-Type, as each upstream service enforces it ------------------------------------

@dataclasses.dataclass(frozen=True)
class MediaRule:
    """Which Content-Types a service parses as JSON, and what it answers for the others. A
    missing or empty Content-Type is JSON everywhere (every upstream service allows it)."""

    accepts: Callable[[str], bool]
    refuse: Callable[[str], errors.SausageError]


def _any(media: str) -> bool:
    return True


def _werkzeug_json(media: str) -> bool:
    # Keystone (Flask) parses what werkzeug calls JSON: application/json or application/*+json.
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _keystone_refusal(media: str) -> errors.SausageError:
    return errors.BadRequest(
        "Expecting to find application/json in Content-Type header. The server could not "
        "comply with the request since it is either malformed or otherwise incorrect. The "
        "client is assumed to be in error.")


def _unsupported(media: str) -> errors.SausageError:
    return errors.UnsupportedMediaType("Unsupported Content-Type")


MEDIA: dict[str, MediaRule] = {
    "identity": MediaRule(_werkzeug_json, _keystone_refusal),
    # Nova reads text/plain as "no Content-Type" (the default of some WSGI servers).
    "compute": MediaRule(lambda m: m in ("application/json",
                                         "application/vnd.openstack.compute+json",
                                         "text/plain"), _unsupported),
    "volume": MediaRule(lambda m: m in ("application/json",
                                        "application/vnd.openstack.volume+json"), _unsupported),
    # Neutron (pecan) and Glance (its JSONRequestDeserializer) parse any body as JSON; Glance's
    # PATCH and upload media types are checked by their own handlers.
    "network": MediaRule(_any, _unsupported),
    "image": MediaRule(_any, _unsupported),
    # Designate reads application/json (and JSON patch) bodies only.
    "dns": MediaRule(lambda m: m in ("application/json", "application/json-patch+json"),
                     lambda m: errors.UnsupportedMediaType(
                         "Content-type must be application/json",
                         kind="unsupported_content_type")),
}


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters ('' when there is none)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _service(request: Request) -> str:
    return request.url.path.lstrip("/").split("/", 1)[0]


async def _capped_body(request: Request) -> bytes:
    """The body, read no further than ``MAX_BODY`` (a client announcing or sending more gets
    413 without the server holding it all in memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise errors.PayloadTooLarge("Request is too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.PayloadTooLarge("Request is too large.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    request._body = raw  # what Request.body() answers from now on
    return raw


async def json_value(request: Request, malformed: str, kind: str = "") -> Any:
    """The request body as a JSON value (see the module docstring): PayloadTooLarge past
    ``MAX_BODY``; the service's refusal of its Content-Type; BadRequest ``malformed: why`` for
    an empty or unacceptable body (``kind``: the service's error name)."""
    raw = await _capped_body(request)
    media = media_type(request)
    rule = MEDIA.get(_service(request))
    if media and raw and rule is not None and not rule.accepts(media):
        raise rule.refuse(media)
    if not raw.strip():
        raise errors.BadRequest(f"{malformed}: a JSON body is required.", kind=kind)
    try:
        return decode(raw)
    except Malformed as e:
        raise errors.BadRequest(f"{malformed}: {e}.", kind=kind) from e


async def json_object(request: Request, malformed: str, not_object: str, kind: str = ""
                      ) -> dict[str, Any]:
    """``json_value`` that must be a JSON object: BadRequest ``not_object`` for any other
    value."""
    value = await json_value(request, malformed, kind)
    if not isinstance(value, dict):
        raise errors.BadRequest(not_object, kind=kind)
    return value


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error["loc"])
    if error["type"] == "missing":
        return f"Invalid input for field '{where}': '{error['loc'][-1]}' is a required property."
    if error["type"] == "extra_forbidden":
        return f"Invalid input for field '{where}': additional properties are not allowed."
    return f"Invalid input for field '{where}': {error['msg']}."


async def body(request: Request, model: type[M]) -> M:
    """The request body as ``model``; BadRequest naming the first bad field otherwise."""
    value = await json_object(request, "Malformed request body",
                              "Malformed request body: the body must be a JSON object.")
    try:
        # Validated in pydantic's JSON mode (an ISO string is a datetime there, never in
        # strict Python mode) from the value the decoder accepted.
        return model.model_validate_json(jsonlib.dumps(value), strict=True)
    except pydantic.ValidationError as e:
        raise errors.BadRequest(_describe(e.errors()[0])) from e


def _state(request: Request) -> Any:
    return request.app.state.cloud


async def call(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Authenticate the caller's X-Auth-Token and run ``fn(session, context, *args)`` in one
    transaction, off the event loop. Raises Unauthorized without a live token."""
    return await run_in_threadpool(_authenticated(request, fn, args, kwargs))


async def call_hashing(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call`` for work that hashes a password: it runs in the app's hashing lane, so it never
    holds up other requests. Raises ServiceUnavailable when that lane is full."""
    lane: hashing.Lane = request.app.state.hashing
    return await lane.run(_authenticated(request, fn, args, kwargs))


def _authenticated(request: Request, fn: Callable[..., T], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Callable[[], T]:
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

    return work


async def call_public(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(session, *args)`` in one transaction without authenticating the caller."""
    return await run_in_threadpool(_public(request, fn, args, kwargs))


async def call_public_hashing(request: Request, fn: Callable[..., T], *args: Any,
                              **kwargs: Any) -> T:
    """``call_public`` for work that hashes a password (a login): in the hashing lane, like
    ``call_hashing``."""
    lane: hashing.Lane = request.app.state.hashing
    return await lane.run(_public(request, fn, args, kwargs))


def _public(request: Request, fn: Callable[..., T], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Callable[[], T]:
    cloud = _state(request)

    def work() -> T:
        with cloud.db.transaction() as s:
            return fn(s, *args, **kwargs)

    return work


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work (file I/O, subprocesses) off the event loop."""
    return await run_in_threadpool(fn, *args)


class _JSON(JSONResponse):
    """JSON that still renders a string UTF-8 cannot carry (a lone surrogate stored before the
    decoder refused them) as a \\uXXXX escape, rather than failing every read of it."""

    def render(self, content: Any) -> bytes:
        text = jsonlib.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                             separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _JSON(content, status_code=status, headers=headers)


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers=headers)


def filters(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def base_url(request: Request, service: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/{service}"

