"""Serving the API on every core: one supervisor binds the port, then runs ``workers`` processes
that each serve the whole app (uvicorn) on it, and starts a new one when one dies.

The workers share only the database and the state dir; each builds its own ``Cloud`` and app.
``sausage up`` prepares the state dir (migrations, bootstrap, keys) once, before ``serve``
calls ``Supervisor.run``, so no worker races another to do it. The terminal's Ctrl-C reaches
only the supervisor (workers live in their own process group and die with it), which stops the
workers in order: each lets its requests finish and ends its agents' long-polls at once.
``Housekeeping`` is the supervisor's periodic chore (key rotation, pruning revocations), done in
that one process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.process
import os
import pathlib
import signal
import socket
import threading
import time
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from sausage import config, logs
from sausage.services.runtime import Cloud

__all__ = ["Supervisor", "Housekeeping", "bind"]

# How long an idle keep-alive connection stays open. Longer than the clients' polling: the
# openstack CLI's --wait asks every 5 s on one connection, and a server that closed idle
# connections after 5 s (uvicorn's default) sometimes closed one just as the next poll was sent
# on it ("Remote end closed connection without response"). nginx's default is the same 75 s.
KEEP_ALIVE_SECONDS = 75

log = logging.getLogger("sausage.api.server")

# A worker that dies sooner than this after its start is failing at start: wait before the next.
STEADY_SECONDS = 30.0
STOP_SECONDS = 10.0


def bind(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on the one port, one per worker (SO_REUSEPORT: the kernel
    spreads new connections over them). With one shared socket, the worker that wakes first
    accepts every connection waiting, and keep-alive clients arriving together all end up on
    one worker. The supervisor holds them all, so connections that arrive while a worker is
    being replaced wait for its successor. Raises OSError when the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Without SO_REUSEPORT: fails if anything (another cloud included) listens there.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    socks = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        # Accepted connections inherit it: without it a response written in two parts waits
        # for the client's delayed ACK (~40 ms a request on loopback).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
        socks.append(sock)
    return socks


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, sock: socket.socket) -> None:
        self.process = process
        self.sock = sock
        self.started = time.monotonic()
        self.delay = 1.0
        self.dead_at: float | None = None


class Supervisor:
    """Runs ``settings.workers`` API worker processes until SIGTERM or SIGINT."""

    def __init__(self, settings: config.Settings, console: bool) -> None:
        self.settings = settings
        self.console = console
        self.stopping = threading.Event()
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def _spawn(self, sock: socket.socket) -> _Worker:
        process = self._context.Process(
            target=_worker, name="sausage-api",
            args=(str(self.settings.state_dir), sock, self.console, os.getpid()), daemon=False)
        process.start()
        return _Worker(process, sock)

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self, socks: list[socket.socket]) -> None:
        """Serve on ``socks`` (one per worker, from ``bind``) until a stop signal; returns once
        every worker has exited."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._workers = [self._spawn(sock) for sock in socks]
            log.info("serving the API with %d worker processes", len(self._workers))
            while not self.stopping.wait(0.5):
                self._replace_dead()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop_all()

    def _replace_dead(self) -> None:
        now = time.monotonic()
        for i, worker in enumerate(self._workers):
            code = worker.process.exitcode
            if code is None:
                continue
            # Crash-looping (a worker that cannot start) backs off; a steady one comes back at once.
            failing = now - worker.started < STEADY_SECONDS
            delay = min(worker.delay * 2, 30.0) if failing else 1.0
            if worker.dead_at is None:
                log.warning("API worker (pid %s) exited with %s; starting another%s",
                            worker.process.pid, code, f" in {delay:.0f} s" if failing else "")
                worker.dead_at = now
            if failing and now - worker.dead_at < delay:
                continue
            fresh = self._spawn(worker.sock)
            fresh.delay = delay if failing else 1.0
            self._workers[i] = fresh

    def _stop_all(self) -> None:
        for worker in self._workers:
            if worker.process.exitcode is None and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                log.warning("API worker (pid %s) did not stop in time; killing it",
                            worker.process.pid)
                worker.process.kill()
                worker.process.join()

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]


class Housekeeping(threading.Thread):
    """Key rotation when due and pruning of old revocation events, every few minutes, in the
    one supervising process (the key repository's lock keeps a second ``serve`` from racing)."""

    def __init__(self, cloud: Cloud, every: float = 300.0) -> None:
        super().__init__(name="housekeeping", daemon=True)
        self.cloud = cloud
        self.every = every
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                self.cloud.maintain()
            except Exception:  # noqa: BLE001 - housekeeping must never stop the cloud
                log.exception("housekeeping failed; trying again in %.0f s", self.every)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class _Server(uvicorn.Server):
    """uvicorn's server, which also tells the app that it is stopping (long-polls end at once
    instead of being cancelled when the graceful shutdown times out)."""

    def __init__(self, cfg: uvicorn.Config, app: Starlette) -> None:
        super().__init__(cfg)
        self.app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.app.state.stopping.set()
        super().handle_exit(sig, frame)


def _worker(state_dir: str, sock: socket.socket, console: bool, parent: int) -> None:
    """One API worker process (spawned): build the app from the state dir and serve ``sock``."""
    from sausage.api import app

    os.setpgid(0, 0)
    _die_with(parent)
    # uvicorn re-raises the stop signal once it has shut down; by then there is nothing left to
    # interrupt, so let the process end normally (and close the database) instead.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    settings = config.load(pathlib.Path(state_dir))
    logs.setup(settings, console=console)
    cloud = Cloud(settings)
    application = app.build(cloud)
    server = _Server(uvicorn.Config(
        application, access_log=False, log_config=None, lifespan="off",
        timeout_keep_alive=KEEP_ALIVE_SECONDS, timeout_graceful_shutdown=3), application)
    try:
        server.run(sockets=[sock])
    finally:
        application.state.hashing.close()
        cloud.close()


def _die_with(parent: int) -> None:
    """SIGTERM this process when the supervisor dies, however it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)

