"""A minimal QMP client: one command per connection, plain JSON over QEMU's unix socket.

Used by the QEMU driver (``drivers/qemu.py``) and ``drivers/disks.py``; ``QmpError`` is a
DriverError.
One short connection per command keeps it simple and lets several callers (the loop observing,
a worker acting) take turns on the one socket QEMU serves.
"""

from __future__ import annotations

import json
import pathlib
import socket
import time
from typing import IO, Any

from sausage.agent.drivers.errors import DriverError

__all__ = ["QmpError", "execute"]


class QmpError(DriverError):
    """QEMU answered an error (``code``: its error class), or could not be talked to (None)."""


def execute(sock_path: pathlib.Path, command: str, arguments: dict[str, Any] | None = None,
            timeout: float = 10) -> Any:
    """Run ``command`` and return its ``return`` value; QmpError otherwise.

    The whole exchange (connect, greeting, capabilities, command) is bounded by ``timeout``. For
    ``quit`` a connection closed before the answer counts as success.
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(sock_path))
            reader = sock.makefile("rb")
            _read(reader, sock, deadline, "QMP", command)  # the greeting
            _send(sock, "qmp_capabilities", None)
            _read(reader, sock, deadline, "return", command)
            _send(sock, command, arguments)
            try:
                return _read(reader, sock, deadline, "return", command)
            except EOFError:
                if command == "quit":
                    return {}
                raise
    except (OSError, EOFError, ValueError) as e:
        raise QmpError(f"QMP {command} failed: {e or type(e).__name__}") from e


def _send(sock: socket.socket, command: str, arguments: dict[str, Any] | None) -> None:
    message: dict[str, Any] = {"execute": command}
    if arguments:
        message["arguments"] = arguments
    sock.sendall(json.dumps(message).encode() + b"\n")


def _read(reader: IO[bytes], sock: socket.socket, deadline: float, key: str,
          command: str) -> Any:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer in time")
        sock.settimeout(remaining)
        line = reader.readline()
        if not line:
            raise EOFError("QEMU closed the QMP connection")
        message = json.loads(line)
        if "error" in message:
            error = message["error"]
            raise QmpError(f"QMP {command}: {error.get('desc', error)}",
                           code=str(error.get("class", "")) or None)
        if key in message:
            return message[key]
        # anything else is an asynchronous event: skip it
