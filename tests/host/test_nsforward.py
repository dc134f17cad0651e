"""tools/tempest/nsforward.py: the Tempest harness runs Tempest inside the cloud's namespace and
reaches the API on 127.0.0.1:PORT of the root namespace through this forwarder.

Each test makes its own throwaway namespace (conftest.Netns) and a small HTTP server on this
namespace's loopback; traffic stays on the two loopbacks.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO, free_port
from tests.host.conftest import Netns, require_host

NSFORWARD = REPO / "tools" / "tempest" / "nsforward.py"


def load_nsforward() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nsforward", NSFORWARD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Api:
    """An HTTP server on 127.0.0.1 of this (the root) namespace answering 'api <path>'."""

    def __init__(self) -> None:
        self.port = free_port()
        self.peers: list[str] = []
        peers = self.peers

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                peers.append(self.client_address[0])
                body = f"api {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ns() -> Iterator[Netns]:
    require_host()
    space = Netns()
    space.create()
    try:
        yield space
    finally:
        space.delete()


@pytest.fixture
def api() -> Iterator[Api]:
    server = Api()
    try:
        yield server
    finally:
        server.close()


def curl(ns: Netns, port: int, path: str) -> subprocess.CompletedProcess[str]:
    return ns.run("curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{port}{path}")


def test_inside_the_namespace_loopback_reaches_the_api_of_the_root_namespace(
        ns: Netns, api: Api) -> None:
    assert curl(ns, api.port, "/before").returncode != 0, "nothing listens in the namespace yet"
    forward = load_nsforward().NsForward(ns.name, api.port).start()
    try:
        for path in ("/identity/v3", "/compute/v2.1/servers"):
            result = curl(ns, api.port, path)
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"api {path}"
        # Several clients at once, each on its own connection.
        runs = [subprocess.Popen(ns.exec_args("curl", "-sS", "--max-time", "5",
                                              f"http://127.0.0.1:{api.port}/c{i}"),
                                 stdout=subprocess.PIPE, text=True) for i in range(8)]
        assert sorted(p.communicate(timeout=10)[0] for p in runs) == sorted(
            f"api /c{i}" for i in range(8))
    finally:
        forward.close()
    assert api.peers and set(api.peers) == {"127.0.0.1"}


def test_the_calling_thread_stays_in_its_own_namespace(ns: Netns, api: Api) -> None:
    before = os.readlink("/proc/thread-self/ns/net")
    forward = load_nsforward().NsForward(ns.name, api.port).start()
    try:
        assert os.readlink("/proc/thread-self/ns/net") == before
    finally:
        forward.close()


def test_after_close_nothing_listens_in_the_namespace(ns: Netns, api: Api) -> None:
    forward = load_nsforward().NsForward(ns.name, api.port).start()
    assert curl(ns, api.port, "/x").returncode == 0
    forward.close()
    assert curl(ns, api.port, "/x").returncode != 0
    listening = ns.run("ss", "-Htln").stdout
    assert f":{api.port} " not in listening


def test_a_missing_namespace_is_named_in_the_error(api: Api) -> None:
    require_host()
    with pytest.raises(FileNotFoundError, match="sg-missing"):
        load_nsforward().NsForward("sg-missing", api.port).start()


def test_as_a_process_it_forwards_until_terminated(ns: Netns, api: Api) -> None:
    with subprocess.Popen([sys.executable, str(NSFORWARD), ns.name, str(api.port)],
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert "nsforward: 127.0.0.1:" in proc.stdout.readline()
            assert curl(ns, api.port, "/p").stdout == "api /p"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert curl(ns, api.port, "/p").returncode != 0
