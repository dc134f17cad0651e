"""Domain errors → each OpenStack service's own fault body, in one place.

Which service a request belongs to is its first path segment (``/identity``, ``/compute`` …);
the renderer for that service shapes the body. Unknown exceptions become a 500 in the same shape
with no internals leaked, and are logged with the request id.

A message may quote what the client sent; whatever it holds (a lone surrogate, a NUL, bytes read
as latin-1) the fault is still written: what UTF-8 cannot carry is shown as a ``\\uXXXX``
escape, so the renderer itself never fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sausage import errors

__all__ = ["render", "printable", "service_of", "handle"]

log = logging.getLogger("sausage.api")

Body = Callable[[int, str, str], dict[str, Any]]

_COMPUTE_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
    500: "computeFault", 501: "notImplemented", 503: "serviceUnavailable",
}


def _identity(status: int, title: str, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "title": title, "message": message}}


def _compute(status: int, title: str, message: str) -> dict[str, Any]:
    return {_COMPUTE_NAMES.get(status, "computeFault"): {"code": status, "message": message}}


def _network(status: int, title: str, message: str, kind: str = "") -> dict[str, Any]:
    kind = kind or {400: "BadRequest", 401: "NotAuthorized", 403: "Forbidden", 404: "NotFound",
                    409: "Conflict", 503: "ServiceUnavailable"}.get(status, "HTTPError")
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


def _webob(status: int, title: str, message: str) -> dict[str, Any]:
    """Glance answers in WebOb's JSON error shape."""
    return {"code": f"{status} {title}", "title": title, "message": message}


_DESIGNATE_TYPES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "duplicate", 413: "over_quota",
    415: "unsupported_content_type", 503: "service_unavailable",
}


def _designate(status: int, title: str, message: str, kind: str = "",
               request_id: str = "") -> dict[str, Any]:
    """Designate's fault: the status, its error type (``zone_not_found`` …), the message and
    the request id."""
    return {"code": status, "type": kind or _DESIGNATE_TYPES.get(status, "unknown_failure"),
            "message": message, "request_id": request_id}


def _plain(status: int, title: str, message: str) -> dict[str, Any]:
    return {"code": status, "title": title, "message": message}


RENDERERS: dict[str, Body] = {
    "identity": _identity,
    "compute": _compute,
    "volume": _compute,
    "network": _network,
    "image": _webob,
    "dns": _designate,
}


def service_of(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def printable(text: str) -> str:
    """``text`` with every character UTF-8 cannot encode (lone surrogates) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def render(path: str, status: int, title: str, message: str,
           headers: dict[str, str] | None = None, kind: str = "",
           request_id: str = "") -> Response:
    renderer = RENDERERS.get(service_of(path), _plain)
    message = printable(message)
    # Only Neutron's and Designate's bodies name the error's own type; the others name the
    # status.
    if renderer is _network:
        body = _network(status, title, message, printable(kind))
    elif renderer is _designate:
        body = _designate(status, title, message, printable(kind), request_id)
    else:
        body = renderer(status, title, message)
    return JSONResponse(body, status_code=status, headers=headers)


def _www_authenticate(request: Request) -> dict[str, str]:
    base = f"{request.url.scheme}://{request.url.netloc}/identity"
    return {"WWW-Authenticate": f'Keystone uri="{base}"'}


async def handle(request: Request, exc: Exception) -> Response:
    """The one exception handler: looked up for every exception class the app raises."""
    path = request.url.path
    request_id = str(getattr(request.state, "request_id", ""))
    if isinstance(exc, errors.SausageError):
        headers = {**exc.headers, **(_www_authenticate(request) if exc.status == 401 else {})}
        return render(path, exc.status, exc.title, exc.message, headers or None, exc.kind,
                      request_id)
    if isinstance(exc, HTTPException):
        message = {404: "The resource could not be found.",
                   405: "The method is not allowed for the requested URL."}.get(
            exc.status_code, str(exc.detail))
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        return render(path, exc.status_code, title, message, request_id=request_id)
    log.exception("unexpected error serving %s %s", request.method, path, exc_info=exc)
    return render(path, 500, "Internal Server Error",
                  "An unexpected error prevented the server from fulfilling your request.",
                  request_id=request_id)
