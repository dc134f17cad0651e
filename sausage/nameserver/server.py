"""Runs the controller's PowerDNS for real, and keeps it and its zones up.

``PowerDNSServer`` is one ``pdns_server`` process with its own config dir under the state dir
(``<state_dir>/dns``): ``pdns.conf``, the gsqlite3 database (made from the Debian package's
schema when missing, so a lost database comes back empty and is published again), a random
API key (0600), its socket dir and log. It listens for DNS on ``listen`` and for its API on
the loopback, inside network namespace ``netns`` when one is given (``ip netns exec``).

``Nameserver`` is what the controller starts: a supervisor thread that keeps the process
running (restarting it with a backoff when it dies) and a reconciler thread that publishes
the desired zones into it (``reconciler.Reconciler.run``), woken by ``wake()`` and after each
(re)start of the process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import secrets
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable

from sausage import config
from sausage.nameserver.netns import socket_factory
from sausage.nameserver.powerdns import PowerDNS, PowerDNSError
from sausage.nameserver.published import Zone
from sausage.nameserver.reconciler import Reconciler, ZoneResult

__all__ = ["PowerDNSServer", "Nameserver", "ServerError", "SCHEMA", "split_listen"]

log = logging.getLogger(__name__)

# The gsqlite3 schema of Debian 12's pdns-backend-sqlite3
SCHEMA = pathlib.Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
PDNS_SERVER = "pdns_server"


class ServerError(Exception):
    """pdns_server could not be started, or did not answer in time."""


def split_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:5354"`` or ``"[::1]:5354"`` → (host, port)."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not host:port: {listen!r}")
    return host.strip("[]"), int(port)


class PowerDNSServer:
    """One pdns_server process configured and kept in ``dns_dir``."""

    def __init__(self, dns_dir: pathlib.Path, listen: str = "127.0.0.1:5354",
                 api_port: int = 8081, netns: str | None = None) -> None:
        self.dir = dns_dir
        self.host, self.port = split_listen(listen)
        self.api_port = api_port
        self.netns = netns
        self.factory = socket_factory(netns)
        self.process: subprocess.Popen[bytes] | None = None

    # -- files -----------------------------------------------------------------------------------
    @property
    def database(self) -> pathlib.Path:
        return self.dir / "pdns.sqlite3"

    @property
    def log_file(self) -> pathlib.Path:
        return self.dir / "pdns.log"

    @property
    def pid_file(self) -> pathlib.Path:
        return self.dir / "pdns_server.pid"

    @property
    def api_key(self) -> str:
        """The API key, made at random on first use and kept in the dir (0600)."""
        path = self.dir / "api-key"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        self.dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
        return key

    def write_config(self) -> None:
        """``pdns.conf`` for this server (rewritten on every start: settings may change)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "run").mkdir(exist_ok=True)
        lines = [
            "# Written by Sausage Cloud (sausage/nameserver/server.py) at every start.",
            "launch=gsqlite3",
            f"gsqlite3-database={self.database}",
            f"local-address={self.host}",
            f"local-port={self.port}",
            "api=yes",
            f"api-key={self.api_key}",
            "webserver=yes",
            f"webserver-address={'::1' if ':' in self.host else '127.0.0.1'}",
            f"webserver-port={self.api_port}",
            "webserver-allow-from=127.0.0.1,::1",
            "webserver-loglevel=none",
            f"socket-dir={self.dir / 'run'}",
            "guardian=no",
            "daemon=no",
            "disable-syslog=yes",
            "log-timestamp=yes",
            "loglevel=4",
            # zones come and go through the API: no zone cache to go stale
            "zone-cache-refresh-interval=0",
        ]
        config_file = self.dir / "pdns.conf"
        tmp = config_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
        tmp.replace(config_file)

    def ensure_database(self) -> bool:
        """Make the gsqlite3 database from the package's schema when it is missing; True when
        it was made (an empty server: every zone must be published again)."""
        if self.database.exists():
            return False
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.database.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp)
        try:
            db.executescript(SCHEMA.read_text())
            db.commit()
        finally:
            db.close()
        tmp.replace(self.database)
        return True

    # -- the process -----------------------------------------------------------------------------
    def client(self, timeout: float = 10.0) -> PowerDNS:
        """A new API client of this server (in its namespace)."""
        return PowerDNS(self.api_key, "::1" if ":" in self.host else "127.0.0.1",
                        self.api_port, self.factory, timeout)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start pdns_server and wait until its API answers; ServerError when it does not.
        The process gets SIGTERM when the calling thread ends (so does it when the controller
        dies, however): start it from a thread that lives as long as it should."""
        self._kill_leftover()
        if self.ensure_database():
            log.info("nameserver: new empty database %s", self.database)
        self.write_config()
        args = [PDNS_SERVER, f"--config-dir={self.dir}"]
        if self.netns is not None:
            # Its API listens on the namespace's loopback, which a bare `ip netns add` leaves down.
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"],
                           capture_output=True, check=False)
            args = ["ip", "netns", "exec", self.netns, *args]
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                preexec_fn=_die_with_parent, process_group=0)
        self.pid_file.write_text(f"{self.process.pid}\n")
        client = self.client(timeout=2.0)
        deadline = time.monotonic() + timeout
        try:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise ServerError(f"pdns_server exited ({code}):\n{self.log_tail()}")
                try:
                    client.zones()
                    return
                except PowerDNSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise ServerError(f"pdns_server did not answer within {timeout:.0f} s:"
                                          f"\n{self.log_tail()}") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.pid_file.unlink(missing_ok=True)

    def _kill_leftover(self) -> None:
        """A pdns_server of this dir left by an earlier controller (its pid file) is killed:
        it would hold the ports."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if f"--config-dir={self.dir}".encode() in cmdline.split(b"\0"):
            log.warning("nameserver: killing a leftover pdns_server (pid %d)", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if not pathlib.Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _die_with_parent() -> None:
    """In the child: SIGTERM when the thread that started it ends (the supervisor's)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Nameserver:
    """The controller's nameserver: PowerDNS kept running plus its zones kept published.

    ``get_desired`` returns the zones to publish (called from the reconciler thread),
    ``report`` receives each step's per-zone results. ``start()`` returns at once;
    ``wake()`` asks for a step now (after a change); ``stop()`` ends both threads and the
    process."""

    def __init__(self, server: PowerDNSServer, get_desired: Callable[[], list[Zone]],
                 report: Callable[[dict[str, ZoneResult]], None],
                 interval: float = 30.0) -> None:
        self.server = server
        self.get_desired = get_desired
        self.report = report
        self.interval = interval
        self.stopping = threading.Event()
        self.woken = threading.Event()
        self.started = threading.Event()  # set once the process first answered
        self.restarts = 0
        self.reconciler = Reconciler(server.client(), server.host, server.port, server.factory)
        self._threads = [
            threading.Thread(target=self._supervise, name="pdns-supervisor", daemon=True),
            threading.Thread(target=self._reconcile, name="dns-reconciler", daemon=True),
        ]

    @classmethod
    def from_settings(cls, settings: config.Settings, get_desired: Callable[[], list[Zone]],
                      report: Callable[[dict[str, ZoneResult]], None],
                      interval: float = 30.0) -> Nameserver:
        """The all-in-one's: in ``<state_dir>/dns``, on ``dns_listen`` and ``dns_api_port``,
        inside ``settings.netns`` when set."""
        server = PowerDNSServer(settings.state_dir / "dns", settings.dns_listen,
                                settings.dns_api_port, settings.netns)
        return cls(server, get_desired, report, interval)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        self.woken.set()

    def stop(self) -> None:
        self.stopping.set()
        self.woken.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=30)
        self.server.stop()
        self.reconciler.close()

    def _supervise(self) -> None:
        delay = 0.5  # doubled before the first restart: 1 s, then 2, 4 ... 30 while it keeps dying
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self.server.start()
            except (ServerError, OSError) as e:
                log.error("nameserver: cannot start PowerDNS: %s", e)
            else:
                log.info("nameserver: PowerDNS answers (DNS on %s:%d%s)", self.server.host,
                         self.server.port,
                         f" in namespace {self.server.netns}" if self.server.netns else "")
                self.started.set()
                self.woken.set()  # (re)publish into the (re)started server at once
                process = self.server.process
                assert process is not None
                while process.poll() is None and not self.stopping.wait(0.5):
                    pass
                if self.stopping.is_set():
                    self.server.stop()  # here: the process dies with the thread that made it
                    return
                log.warning("nameserver: PowerDNS exited (%s):\n%s", process.returncode,
                            self.server.log_tail(5))
                self.restarts += 1
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            if self.restarts:
                log.info("nameserver: restarting PowerDNS in %.0f s", delay)
            self.stopping.wait(delay)

    def _reconcile(self) -> None:
        while not self.started.wait(0.5):
            if self.stopping.is_set():
                return
        self.reconciler.run(self.get_desired, self.report, self.woken, self.stopping,
                            self.interval)
