"""The metadata proxy: guests' ``http://169.254.169.254/…`` → the API's metadata endpoint.

Owned by the DHCP driver (``dhcp.py``), which calls ``serve`` for every network it serves
DHCP on and ``stop`` when the network goes. For each network a listening socket on
169.254.169.254:80 is created *inside* that network's qdhcp namespace (by a thread that enters
the namespace just for that: the socket keeps the namespace it was made in), and served by a
small threading HTTP server in the agent process. A GET or HEAD is forwarded to
``{api_url}/internal/v1/metadata/<path>`` with the host credential, the network id and the
client's address (``X-Forwarded-For``): together these tell the API which instance asked, and
it answers for that instance only. Status, Content-Type and body are relayed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from sausage.agent.drivers import namespaces
from sausage.contract import host as contract

__all__ = ["MetadataProxy", "TOKEN_HEADER", "NETWORK_HEADER", "PORT"]

log = logging.getLogger("sausage.agent.metadata")

TOKEN_HEADER = "X-Sausage-Host-Token"
NETWORK_HEADER = "X-Sausage-Network-Id"
PORT = 80
PATH_PREFIX = "/internal/v1/metadata/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: MetadataProxy
    network_id: str


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30  # a client that stalls mid-request does not hold a thread for ever
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._forward(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._forward(send_body=False)

    def _forward(self, send_body: bool) -> None:
        target = _target_path(self.path)
        if target is None:
            self._reply(400, "text/plain", b"Bad request path\n", send_body)
            return
        proxy = self.server.proxy
        headers = {
            TOKEN_HEADER: proxy.host_token(),
            NETWORK_HEADER: self.server.network_id,
            "X-Forwarded-For": self.client_address[0],
            "Accept": self.headers.get("Accept", "*/*"),
        }
        try:
            answer = proxy.http.request(self.command, proxy.api_url + PATH_PREFIX + target,
                                        headers=headers)
        except httpx.HTTPError as e:
            log.warning("metadata request for network %s failed: %s", self.server.network_id, e)
            self._reply(502, "text/plain", b"The metadata service is unreachable\n", send_body)
            return
        self._reply(answer.status_code, answer.headers.get("Content-Type", "text/plain"),
                    answer.content, send_body)

    def _reply(self, status: int, content_type: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        log.debug("%s %s", self.client_address[0], format % args)


def _target_path(raw: str) -> str | None:
    """The request path relative to the metadata root, or None when it tries to leave it
    (``..``, an absolute URI, control characters)."""
    if not raw.startswith("/") or any(ord(c) < 0x21 for c in raw):
        return None
    path, _, query = raw.partition("?")
    decoded = urllib.parse.unquote(path)
    if ".." in decoded.split("/") or "\\" in decoded:
        return None
    normal = posixpath.normpath(path)
    if path.endswith("/") and normal != "/":
        normal += "/"
    relative = normal.lstrip("/")
    return relative + ("?" + query if query else "")


class MetadataProxy:
    """One HTTP listener per network, each in that network's namespace."""

    def __init__(self, api_url: str, host_token: Callable[[], str], timeout: float = 10) -> None:
        self.api_url = api_url.rstrip("/")
        self.host_token = host_token
        # trust_env=False: an HTTP(S)_PROXY in the agent's environment must not carry the host
        # credential anywhere but the API.
        self.http = httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False)
        self._servers: dict[str, tuple[_Server, threading.Thread, str, int]] = {}
        self._lock = threading.Lock()

    def serve(self, network_id: str, netns: str) -> None:
        """Listen on 169.254.169.254:80 in ``netns`` for ``network_id`` (the address must be
        on one of its links already). Idempotent; a namespace made anew gets a new listener.
        Raises DriverError when the socket cannot be made."""
        inode = os.stat(namespaces.NETNS_DIR / netns).st_ino
        with self._lock:
            current = self._servers.get(network_id)
            if current is not None and current[2:] == (netns, inode) and current[1].is_alive():
                return
        self.stop(network_id)

        def make() -> _Server:
            server = _Server((contract.METADATA_ADDRESS, PORT), _Handler)
            server.proxy = self
            server.network_id = network_id
            return server

        server = namespaces.run_in(netns, make)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5},
                                  name=f"metadata-{network_id[:8]}", daemon=True)
        thread.start()
        with self._lock:
            self._servers[network_id] = (server, thread, netns, inode)
        log.info("metadata proxy for network %s listening in %s", network_id, netns)

    def stop(self, network_id: str) -> None:
        with self._lock:
            entry = self._servers.pop(network_id, None)
        if entry is None:
            return
        server, thread, _, _ = entry
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    def serving(self) -> set[str]:
        with self._lock:
            return set(self._servers)

    def close(self) -> None:
        for network_id in list(self.serving()):
            self.stop(network_id)
        with contextlib.suppress(Exception):
            self.http.close()
