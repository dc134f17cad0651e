"""The endpoints to attack, read from the app's own Starlette routes (``Route`` and ``Mount``
objects of ``sausage.api.app.build``), so an endpoint added to any of the five services is fuzzed
without touching this tier.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

from starlette.routing import BaseRoute, Mount, Route

__all__ = ["Endpoint", "endpoints", "SERVICES"]

# The services and the prefix each one's resources live under.
SERVICES = {
    "identity": "/identity/v3/",
    "compute": "/compute/v2.1/",
    "network": "/network/v2.0/",
    "image": "/image/v2/",
    "volume": "/volume/v3/{project_id}/",
    "dns": "/dns/v2/",
}

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    pattern: str  # e.g. /network/v2.0/networks/{network_id}

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")

    @property
    def segments(self) -> list[str]:
        return self.pattern.strip("/").split("/")

    @property
    def collection(self) -> str:
        """The last literal segment (``networks`` of ``/network/v2.0/networks/{network_id}``)."""
        literal = [s for s in self.segments if not _PARAM.fullmatch(s) and s != "detail"]
        return literal[-1] if literal else ""

    @property
    def is_list(self) -> bool:
        """A GET whose path ends in a literal segment: a collection (or its ``detail``)."""
        return self.method == "GET" and not _PARAM.fullmatch(self.segments[-1])

    def params(self) -> list[tuple[str, str]]:
        """Each path parameter with the literal segment before it (its collection)."""
        found, before = [], ""
        for s in self.segments:
            m = _PARAM.fullmatch(s)
            if m:
                found.append((m.group(1), before))
            else:
                before = s
        return found

    def __str__(self) -> str:
        return f"{self.method} {self.pattern}"


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    for r in routes:
        if isinstance(r, Mount):
            yield from _walk(r.routes, prefix + r.path)
        elif isinstance(r, Route):
            yield prefix + r.path, set(r.methods or ())


def endpoints(routes: Sequence[BaseRoute]) -> list[Endpoint]:
    """Every method of every route under one of the five services' prefixes (HEAD aside)."""
    found = []
    for path, methods in _walk(routes):
        service = next((name for name, prefix in SERVICES.items() if path.startswith(prefix)),
                       None)
        if service is None:
            continue
        for method in sorted(methods - {"HEAD"}):
            found.append(Endpoint(service, method, path))
    return found
