"""A watch kept over every API test: a request that changes what a host must run moves that
host's revision, so its agent, long-polling on the revision, wakes.

Around each public request (not the agents' own ``/internal`` calls, whose reports the host
already knows about) every host's desired document is built before and after; one that
differs while its revision stands still is a forgotten ``hosts.changes.changed``, and fails the
request's test with the method and path that forgot it and where the document changed. (Rows
a test writes straight into the database between requests are not the requests' doing.)
"""

from __future__ import annotations

from typing import Any

import httpx

from sausage.services.hosts import document, registry
from sausage.services.runtime import Cloud

__all__ = ["RevisionWatch"]


class RevisionWatch:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.seen: dict[str, tuple[int, Any]] = {}  # host id → (revision, document without it)

    def install(self, client: httpx.Client) -> None:
        client.event_hooks["request"].append(self.before)
        client.event_hooks["response"].append(self.after)

    def documents(self) -> dict[str, tuple[int, Any]]:
        out: dict[str, tuple[int, Any]] = {}
        with self.cloud.db.transaction() as s:
            for host in registry.list_hosts(s):
                doc: dict[str, Any] = dict(document.desired(
                    s, host, "http://api", self.cloud.host_sections))
                revision = doc.pop("revision")
                out[host.id] = (revision, doc)
        return out

    def before(self, request: httpx.Request) -> None:
        if not request.url.path.startswith("/internal/"):
            self.seen = self.documents()

    def after(self, response: httpx.Response) -> None:
        request = response.request
        if not request.url.path.startswith("/internal/"):
            now = self.documents()
            for host_id, (revision, doc) in now.items():
                before = self.seen.get(host_id)
                if before is not None and before[1] != doc and before[0] == revision:
                    raise AssertionError(
                        f"{request.method} {request.url.path} changed host {host_id}'s desired "
                        f"document without moving its revision ({revision}): "
                        f"{_difference(before[1], doc)}")


def _difference(old: Any, new: Any, where: str = "") -> str:
    """Where two documents first differ, and how."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return _difference(old.get(key), new.get(key), f"{where}.{key}")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            if a != b:
                return _difference(a, b, f"{where}[{index}]")
    return f"{where or 'document'}: {old!r} -> {new!r}"
