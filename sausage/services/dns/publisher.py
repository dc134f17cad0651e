"""The controller's DNS publisher: PowerDNS run and kept published from the database.

Started by ``sausage serve`` (the process that also runs the agent supervisor and the
housekeeping), never by the API workers: there is one publisher per cloud. It holds a
``nameserver.server.Nameserver`` (the PowerDNS process, supervised, and the reconciler thread)
whose desired zones come from ``publish.desired`` and whose results go back through
``publish.record``, each in its own transaction. API workers are other processes, so a watcher
thread looks at ``publish.changes`` every ``poll`` seconds and wakes the reconciler when it
moved; the reconciler's own interval repairs drift.
"""

from __future__ import annotations

import logging
import threading

from sausage.config import Settings
from sausage.db.session import Database
from sausage.nameserver.published import Zone
from sausage.nameserver.reconciler import ZoneResult
from sausage.nameserver.server import Nameserver
from sausage.services.dns import publish

__all__ = ["Publisher"]

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, settings: Settings, db: Database, poll: float = 0.2,
                 interval: float = 30.0) -> None:
        self.db = db
        self.poll = poll
        self.nameserver = Nameserver.from_settings(settings, self._desired, self._record,
                                                   interval)
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="dns-watcher", daemon=True)

    def start(self) -> None:
        self.nameserver.start()
        self.watcher.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.watcher.is_alive():
            self.watcher.join(timeout=10)
        self.nameserver.stop()

    def _desired(self) -> list[Zone]:
        with self.db.transaction() as s:
            return publish.desired(s)

    def _record(self, results: dict[str, ZoneResult]) -> None:
        with self.db.transaction() as s:
            publish.record(s, results)

    def _watch(self) -> None:
        seen: object = None
        while not self.stopping.wait(self.poll):
            try:
                with self.db.transaction() as s:
                    now = publish.changes(s)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the watch
                log.exception("dns: cannot read pending changes")
                continue
            if now != seen:
                seen = now
                if now:
                    self.nameserver.wake()
