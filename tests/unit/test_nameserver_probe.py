"""The SOA probe gives up on a server that does not answer (on loopback only): the reconciler
thread that asks must never hang on a lost answer (a server restarting)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from sausage.nameserver import probe


@pytest.fixture
def silent() -> Iterator[int]:
    """A loopback UDP port that receives and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def probed(port: int) -> tuple[bool, int | None]:
    """(whether the probe returned within 2 s, its serial); in a thread: a hang fails."""
    found: list[int | None] = []
    thread = threading.Thread(target=lambda: found.append(
        probe.serial("127.0.0.1", port, "example.org.", timeout=0.3)), daemon=True)
    thread.start()
    thread.join(timeout=2)
    return bool(found), found[0] if found else None


def test_a_server_that_never_answers_gives_no_serial_after_the_timeout(silent: int) -> None:
    assert probed(silent) == (True, None)


def test_a_port_nobody_listens_on_gives_no_serial() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert probed(free) == (True, None)
