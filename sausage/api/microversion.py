"""Microversions for the services that have them (compute, volume), in one middleware.

It reads ``OpenStack-API-Version: <service> X.Y`` (or the legacy header), answers 400 for a
malformed one and 406 for one outside [min, max], keeps the negotiated version in the request
state for handlers, and echoes it on every response of that service — errors included.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sausage.api import faults

__all__ = ["Service", "Microversions", "of", "COMPUTE", "VOLUME"]

# Nine digits are plenty; a longer run would only be a costly int() (or past its digit limit).
_VERSION = re.compile(r"^(\d{1,9})\.(\d{1,9})$")


@dataclasses.dataclass(frozen=True)
class Service:
    name: str  # as it appears in OpenStack-API-Version, e.g. "compute"
    prefix: str  # URL prefix, e.g. "/compute"
    minimum: tuple[int, int]
    maximum: tuple[int, int]
    legacy_header: str | None = None  # e.g. "x-openstack-nova-api-version"

    def text(self, version: tuple[int, int]) -> str:
        return f"{version[0]}.{version[1]}"


COMPUTE = Service("compute", "/compute", (2, 1), (2, 37), "x-openstack-nova-api-version")
VOLUME = Service("volume", "/volume", (3, 0), (3, 65))


def of(request: Request) -> tuple[int, int]:
    """The negotiated microversion of this request (the minimum when none was asked)."""
    value: tuple[int, int] = request.state.microversion
    return value


class Microversions:
    def __init__(self, app: ASGIApp, services: tuple[Service, ...]) -> None:
        self.app = app
        self.services = services

    def _service(self, path: str) -> Service | None:
        for service in self.services:
            if path == service.prefix or path.startswith(service.prefix + "/"):
                return service
        return None

    def _requested(self, service: Service, headers: dict[str, str]) -> str | None:
        for part in headers.get("openstack-api-version", "").split(","):
            words = part.strip().split()
            if len(words) == 2 and words[0].lower() == service.name:
                return words[1]
        if service.legacy_header:
            return headers.get(service.legacy_header)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self._service(scope.get("path", "")) if scope["type"] == "http" else None
        if service is None:
            await self.app(scope, receive, send)
            return
        # Header bytes are latin-1 by HTTP's rules: a byte that is not UTF-8 (b"\xff" in any
        # header) must not fail here, before the service has even seen the request.
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        asked = self._requested(service, headers)
        version = service.minimum
        error: tuple[int, str] | None = None
        if asked is not None:
            if asked.strip().lower() == "latest":
                version = service.maximum
            elif (match := _VERSION.match(asked.strip())) is None:
                error = (400, f"Invalid API version request: {asked}")
            else:
                version = (int(match[1]), int(match[2]))
                if not service.minimum <= version <= service.maximum:
                    error = (406, f"Version {asked} is not supported by the API. Minimum is "
                                  f"{service.text(service.minimum)} and maximum is "
                                  f"{service.text(service.maximum)}.")
        state: dict[str, Any] = scope.setdefault("state", {})
        state["microversion"] = version
        text = service.text(version)
        echoed = [(b"openstack-api-version", f"{service.name} {text}".encode()),
                  (b"vary", b"OpenStack-API-Version")]
        if service.legacy_header:
            echoed.append((service.legacy_header.encode(), text.encode()))
            echoed[1] = (b"vary", f"OpenStack-API-Version, {service.legacy_header}".encode())

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *echoed]}
            await send(message)

        if error is not None:
            title = "Bad Request" if error[0] == 400 else "Not Acceptable"
            response = faults.render(scope["path"], error[0], title, error[1])
            await response(scope, receive, send_with_version)
            return
        await self.app(scope, receive, send_with_version)
