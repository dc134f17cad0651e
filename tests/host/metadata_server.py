"""A tiny stand-in for the OpenStack metadata service, for host tests.

Run inside a test's network namespace: `metadata_server.py ROUTES_JSON ADDRESS PORT READY_FILE`.
ROUTES_JSON maps request paths to response bodies (strings); anything else is a 404. Every
request is logged on stderr. READY_FILE is written once the socket is listening.
"""

from __future__ import annotations

import json
import pathlib
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType


def main() -> None:
    routes_file, address, port, ready_file = sys.argv[1:5]
    routes: dict[str, bytes] = {
        path: body.encode() for path, body in json.loads(pathlib.Path(routes_file).read_text()).items()
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = routes.get(self.path.split("?", 1)[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json" if self.path.endswith(".json")
                             else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((address, int(port)), Handler)
    server.daemon_threads = True

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    pathlib.Path(ready_file).write_text("ready\n")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
