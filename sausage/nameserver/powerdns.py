"""A small client of PowerDNS's HTTP API (``/api/v1/servers/localhost``), stdlib only.

Reads the zones PowerDNS holds (with the record sets of the zones we manage), creates zones
(kind Native, marked ``account`` = "sausage", SOA-EDIT-API off: the serial is ours), replaces
and deletes record sets with one PATCH, deletes zones. Connections are made through a
``SocketFactory``, so a caller in the root namespace reaches a PowerDNS whose webserver
listens on the loopback of another namespace. Every failure is a ``PowerDNSError``.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterable
from typing import Any

from sausage.nameserver.netns import SocketFactory, socket_factory
from sausage.nameserver.published import ACCOUNT, HeldZone, RRset, Zone

__all__ = ["PowerDNS", "PowerDNSError"]

BASE = "/api/v1/servers/localhost"


class PowerDNSError(Exception):
    """The API could not be reached or refused a request (``status`` 0 when unreachable)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class _Connection(http.client.HTTPConnection):
    """An HTTP connection whose socket comes from a factory (in some network namespace)."""

    def __init__(self, host: str, port: int, timeout: float, factory: SocketFactory) -> None:
        super().__init__(host, port, timeout=timeout)
        self._factory = factory

    def connect(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = self._factory(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect((self.host, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class PowerDNS:
    """The API of one PowerDNS server at ``host``:``port`` (its webserver), keyed by
    ``api_key``. One keep-alive connection, not for concurrent use from several threads."""

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 8081,
                 factory: SocketFactory | None = None, timeout: float = 10.0) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port
        self.factory = factory or socket_factory(None)
        self.timeout = timeout
        self._conn: _Connection | None = None

    # -- zones -----------------------------------------------------------------------------------
    def zones(self) -> list[dict[str, Any]]:
        """The zone list as PowerDNS gives it (name, id, account, serial, kind ...)."""
        found = self.request("GET", "/zones")
        return found if isinstance(found, list) else []

    def zone(self, name: str) -> dict[str, Any] | None:
        """One zone with its record sets, None when PowerDNS does not hold it."""
        try:
            found = self.request("GET", f"/zones/{_zone_id(name)}")
        except PowerDNSError as e:
            if e.status in (404, 422):
                return None
            raise
        return found if isinstance(found, dict) else None

    def held(self) -> list[HeldZone]:
        """Every zone PowerDNS holds; the record sets of ours are read, others' are not."""
        held = []
        for entry in self.zones():
            name, account = str(entry.get("name", "")), str(entry.get("account") or "")
            rrsets: tuple[RRset, ...] | None = None
            if account == ACCOUNT:
                full = self.zone(name)
                if full is None:  # deleted between the list and the read
                    continue
                rrsets = tuple(_rrset(r) for r in full.get("rrsets", ()))
            held.append(HeldZone(name, account, rrsets))
        return held

    def create_zone(self, zone: Zone) -> None:
        """Create ``zone`` (kind Native, ours) with all of its record sets."""
        self.request("POST", "/zones", {
            "name": zone.name, "kind": "Native", "account": ACCOUNT, "soa_edit_api": "",
            "soa_edit": "", "nameservers": [],
            "rrsets": [_body(r, None) for r in zone.published()],
        })
        # PowerDNS purges its caches when a zone changes, not when one is created: a REFUSED
        # cached from before (a query for the zone, or for one deleted and made again) would
        # be answered for up to cache-ttl seconds more
        self.flush_cache(zone.name)

    def flush_cache(self, name: str) -> None:
        """Drop what the server cached for ``name`` and every name under it."""
        query = urllib.parse.urlencode({"domain": name if name.endswith(".") else name + "."})
        self.request("PUT", f"/cache/flush?{query}")

    def update_zone(self, name: str, replace: Iterable[RRset],
                    delete: Iterable[tuple[str, str]] = ()) -> None:
        """Replace and delete record sets of zone ``name`` in one atomic PATCH."""
        rrsets = [_body(r, "REPLACE") for r in replace]
        rrsets += [{"name": n, "type": t, "changetype": "DELETE"} for n, t in delete]
        if rrsets:
            self.request("PATCH", f"/zones/{_zone_id(name)}", {"rrsets": rrsets})

    def delete_zone(self, name: str) -> None:
        """Delete zone ``name``; one already gone is not an error."""
        try:
            self.request("DELETE", f"/zones/{_zone_id(name)}")
        except PowerDNSError as e:
            if e.status not in (404, 422):
                raise

    # -- HTTP ------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One API call; its decoded JSON answer (None when empty). A request on a kept-alive
        connection that the server closed is sent once more on a new connection."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"X-API-Key": self.api_key, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._conn or _Connection(self.host, self.port, self.timeout, self.factory)
            self._conn = conn
            try:
                conn.request(method, BASE + path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError) as e:
                self.close()
                if reused and attempt == 1 and not isinstance(e, TimeoutError):
                    continue
                raise PowerDNSError(f"PowerDNS API at {self.host}:{self.port}: {e}") from e
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return _decode(method, path, response.status, data)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _decode(method: str, path: str, status: int, data: bytes) -> Any:
    try:
        decoded = json.loads(data) if data.strip() else None
    except ValueError:
        decoded = None
    if status >= 400:
        detail = decoded.get("error") if isinstance(decoded, dict) else None
        text = detail or data.decode(errors="replace").strip() or f"HTTP {status}"
        raise PowerDNSError(f"PowerDNS {method} {path}: {status} {text}", status)
    return decoded


def _zone_id(name: str) -> str:
    """PowerDNS's zone id: the name with a trailing dot, '/' written '=2F'."""
    name = name if name.endswith(".") else name + "."
    return urllib.parse.quote(name.replace("/", "=2F"), safe="=.")


def _body(rrset: RRset, changetype: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": rrset.name, "type": rrset.type, "ttl": rrset.ttl,
        "records": [{"content": c, "disabled": False} for c in rrset.records],
    }
    if changetype is not None:
        body["changetype"] = changetype
    return body


def _rrset(raw: dict[str, Any]) -> RRset:
    # a disabled record is not served: marked so that it never equals a desired one
    records = tuple(str(r.get("content", "")) + (" ;disabled" if r.get("disabled") else "")
                    for r in raw.get("records", ()))
    return RRset(str(raw.get("name", "")), str(raw.get("type", "")), int(raw.get("ttl", 0)),
                 records)
