"""The internal API the agents talk to (``/internal/v1``): registration, the desired-state
long-poll, observed-state reports, and image data in and out. Authenticated by per-host tokens,
never by user tokens; not in the catalog."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sausage.api.internal import hosts, metadata

__all__ = ["ROUTES"]

ROUTES: list[BaseRoute] = [*hosts.ROUTES, *metadata.ROUTES]
