"""Sockets inside a named network namespace, for a caller that stays in its own.

The controller runs in the root namespace while its PowerDNS may run inside the ``--netns``
namespace. A socket keeps the namespace it was made in, and a thread's namespace is its own:
``netns_socket`` makes the socket in a short-lived thread that first ``setns``es itself into
``/run/netns/<name>`` (the way the agent's drivers enter namespaces), so the caller's threads
never change namespace and nothing forks.
"""

from __future__ import annotations

import ctypes
import functools
import os
import pathlib
import socket
import threading
from collections.abc import Callable

__all__ = ["NETNS_DIR", "SocketFactory", "netns_socket", "socket_factory"]

NETNS_DIR = pathlib.Path("/run/netns")
CLONE_NEWNET = 0x40000000

# makes a socket of (family, type): the driver and the probe take one of these
SocketFactory = Callable[[int, int], socket.socket]


def netns_socket(netns: str, family: int, type: int) -> socket.socket:
    """A new socket of ``family``/``type`` that lives in network namespace ``netns``.

    Raises OSError when the namespace does not exist or cannot be entered."""
    made: list[socket.socket] = []
    failure: list[BaseException] = []

    def inside() -> None:
        try:
            fd = os.open(NETNS_DIR / netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            made.append(socket.socket(family, type))
        except BaseException as e:  # noqa: BLE001 (re-raised in the caller's thread)
            failure.append(e)

    thread = threading.Thread(target=inside, name=f"netns-socket-{netns}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return made[0]


def socket_factory(netns: str | None) -> SocketFactory:
    """Sockets in ``netns``, or plain sockets of this process's namespace when None."""
    if netns is None:
        return lambda family, type: socket.socket(family, type)
    return functools.partial(netns_socket, netns)
