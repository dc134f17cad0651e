"""The outermost layer every request passes: a request id, the 500 of last resort, and one
structured access-log line per request (request id, user, project, method, path, status, ms)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sausage.api import faults

__all__ = ["RequestContext"]

access = logging.getLogger("sausage.access")


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
