"""The fuzz tier's fixture: one API process for the session (see ``harness``), its summary at
the end of the run -- the number of requests, the time, the status histogram and the server's
memory -- and its state dir removed."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import time
from collections.abc import Iterator

import pytest

from sausage import config
from sausage.api import app as app_module
from sausage.services.runtime import Cloud
from tests.conftest import free_port
from tests.fuzz import routes, server
from tests.fuzz.harness import Harness, rss_kib

_used: list[Harness] = []


def app_endpoints(state_dir: pathlib.Path) -> list[routes.Endpoint]:
    """The endpoints of the app as ``sausage.api.app.build`` makes it."""
    cloud = Cloud(config.load(state_dir, network_bootstrap=False))
    try:
        return routes.endpoints(app_module.build(cloud).routes)
    finally:
        cloud.close()


@pytest.fixture(scope="session")
def fuzz() -> Iterator[Harness]:
    state_dir = pathlib.Path(tempfile.mkdtemp(prefix="sausage-fuzz-"))
    port = free_port()
    try:
        server.prepare(state_dir, port)
        harness = Harness(state_dir, port, app_endpoints(state_dir))
        try:
            harness.setup(server.ADMIN_PASSWORD)
            _used.append(harness)
            yield harness
        finally:
            harness.rss_end = rss_kib(harness.proc.pid) if harness.proc.poll() is None else (0, 0)
            harness.elapsed = time.monotonic() - harness.started
            harness.stop()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for h in _used:
        elapsed = getattr(h, "elapsed", 0.0) or 1e-9
        start, end = h.rss_start[0] // 1024, getattr(h, "rss_end", (0, 0))
        terminalreporter.write_sep("-", "fuzz tier")
        terminalreporter.write_line(
            f"{h.sent} fuzz requests (+{h.overhead} setup) in {elapsed:.0f} s "
            f"({h.sent / elapsed:.0f}/s); status histogram: {h.histogram()}")
        terminalreporter.write_line(
            f"server RSS {start} MiB after setup, {end[0] // 1024} MiB at the end, "
            f"peak {end[1] // 1024} MiB; findings: {len(h.findings)}")
