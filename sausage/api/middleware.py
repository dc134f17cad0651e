"""The outermost layer every request passes: a request id, the 500 of last resort, and one
structured access-log line per request (request id, user, project, method, path, status, ms).

It also refuses, for every service at once, a URL whose path or query holds a NUL character
(``%00``): no id, name or filter contains one, and PostgreSQL cannot even compare with one.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sausage.api import faults

__all__ = ["RequestContext"]

access = logging.getLogger("sausage.access")

_NUL_IN_QUERY = re.compile(rb"%00|\x00")


def _has_nul(scope: Scope) -> bool:
    return "\x00" in scope["path"] or bool(_NUL_IN_QUERY.search(scope.get("query_string", b"")))


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.monotonic()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-openstack-request-id", request_id.encode()))
                if faults.service_of(scope["path"]) == "compute":
                    headers.append((b"x-compute-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if _has_nul(scope):
                response = faults.render(scope["path"], 400, "Bad Request",
                                         "A URL may not contain a NUL character.")
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if response_started:
                raise
            response = await faults.handle(Request(scope), exc)
            await response(scope, receive, send_with_id)
        finally:
            access.info(json.dumps({
                "request_id": request_id,
                "user_id": state.get("user_id"),
                "project_id": state.get("project_id"),
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }))
