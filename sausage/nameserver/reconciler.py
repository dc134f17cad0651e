"""Publishes the desired zones into PowerDNS and says which serial each one answers.

``Reconciler.step`` is one pass: observe (the API: what PowerDNS holds), plan (``plan``),
act (create, update and delete zones through the API), then probe (ask the server over DNS
for each desired zone's SOA serial). A zone is published once its answered serial is the one
desired. ``Reconciler.run`` repeats steps in a thread: at once when woken, every ``interval``
seconds otherwise (which also repairs drift: records changed behind our back, a server that
lost its data), sooner with a growing backoff while something fails. Nothing it meets ends
the loop but ``stopping``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sausage.nameserver import probe
from sausage.nameserver.netns import SocketFactory
from sausage.nameserver.plan import CreateZone, DeleteZone, UpdateZone, converge
from sausage.nameserver.powerdns import PowerDNS, PowerDNSError
from sausage.nameserver.published import Zone

__all__ = ["ZoneResult", "Reconciler"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZoneResult:
    """What one step did for a zone: ``serial`` is the SOA serial the server answers (None:
    none, e.g. a deleted zone), ``error`` why the zone could not be published or deleted.
    ``passing``: the error is the server's, not the zone's (unreachable, restarting, a 5xx),
    so the zone is worth trying again as it is; otherwise the server refused the zone."""

    serial: int | None
    error: str | None = None
    passing: bool = False


class Reconciler:
    """Converges one PowerDNS (its API ``api``, its DNS service at ``dns_host``:``dns_port``
    reached through ``factory``) to the zones it is given. Not for concurrent steps."""

    def __init__(self, api: PowerDNS, dns_host: str, dns_port: int,
                 factory: SocketFactory | None = None, probe_timeout: float = 1.0) -> None:
        self.api = api
        self.dns_host = dns_host
        self.dns_port = dns_port
        self.factory = factory or api.factory
        self.probe_timeout = probe_timeout

    def step(self, desired: list[Zone]) -> dict[str, ZoneResult]:
        """One observe → plan → act → probe pass. The answer has an entry for every desired
        zone and for every zone of ours this step deleted (or failed to delete). When PowerDNS
        cannot be read, every desired zone carries that error; this never raises for it."""
        started = time.monotonic()
        try:
            held = self.api.held()
        except PowerDNSError as e:
            return {zone.name: ZoneResult(None, str(e), passing=True) for zone in desired}
        plan = converge(desired, held)
        errors = dict(plan.conflicts)
        passing: set[str] = set()
        deleted = []
        for action in plan.actions:
            try:
                if isinstance(action, CreateZone):
                    name = action.zone.name
                    log.info("nameserver: creating zone %s (serial %d)", name, action.zone.serial)
                    self.api.create_zone(action.zone)
                elif isinstance(action, UpdateZone):
                    name = action.name
                    log.info("nameserver: zone %s: replacing %s, deleting %s", name,
                             [f"{r.name} {r.type}" for r in action.replace],
                             [f"{n} {t}" for n, t in action.delete])
                    self.api.update_zone(name, action.replace, action.delete)
                else:
                    assert isinstance(action, DeleteZone)
                    name = action.name
                    deleted.append(name)
                    log.info("nameserver: deleting zone %s", name)
                    self.api.delete_zone(name)
            except PowerDNSError as e:
                log.warning("nameserver: %s", e)
                errors[name] = str(e)
                if e.status == 0 or e.status >= 500:
                    passing.add(name)
        results = {}
        for zone in desired:
            answered = None
            if zone.name not in dict(plan.conflicts):
                answered = probe.serial(self.dns_host, self.dns_port, zone.name, self.factory,
                                        self.probe_timeout)
            results[zone.name] = ZoneResult(answered, errors.get(zone.name),
                                            zone.name in passing)
        for name in deleted:
            results[name] = ZoneResult(None, errors.get(name), name in passing)
        log.debug("nameserver: step over %d zones, %d actions, in %.3f s", len(desired),
                  len(plan.actions), time.monotonic() - started)
        return results

    def run(self, get_desired: Callable[[], list[Zone]],
            report: Callable[[dict[str, ZoneResult]], None], wake: threading.Event,
            stopping: threading.Event, interval: float = 30.0) -> None:
        """Steps until ``stopping`` is set (set ``wake`` too, to end a wait at once): one now,
        then one whenever ``wake`` is set or ``interval`` seconds passed. While a zone is not
        published (an error, or not yet answering its serial) the next step comes after a
        backoff of 1, 2, 4 ... seconds (at most ``interval``). An exception from
        ``get_desired``, ``report`` or the step is logged, and backed off like a failure."""
        delay, backoff = 0.0, 1.0
        while not stopping.is_set():
            wake.wait(delay)
            if stopping.is_set():
                return
            wake.clear()
            try:
                desired = get_desired()
                results = self.step(desired)
                report(results)
                serials = {zone.name: zone.serial for zone in desired}
                settled = all(r.error is None and r.serial == serials.get(name)
                              for name, r in results.items() if name in serials) and \
                    all(r.error is None for r in results.values())
            except Exception:  # noqa: BLE001 (the loop outlives any one failure)
                log.exception("nameserver: reconcile step failed")
                settled = False
            if settled:
                delay, backoff = interval, 1.0
            else:
                delay, backoff = min(backoff, interval), min(backoff * 2, interval)

    def close(self) -> None:
        self.api.close()
