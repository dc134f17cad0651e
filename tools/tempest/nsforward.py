"""Forward one TCP port from inside a network namespace to the same port on this loopback.

Used by ``harness.py``: Tempest runs inside the cloud's namespace (``sausage up --netns NS``, where
floating IPs are reachable), but the API listens on 127.0.0.1:PORT of the root namespace. This
forwarder listens on 127.0.0.1:PORT *inside* NS and connects each client to 127.0.0.1:PORT of the
namespace the forwarder was started in. A socket keeps the namespace it was created in, so the
listening socket is made after a short ``setns`` into NS and the calling thread switches back at
once; every outgoing connection is then made from the original namespace. Nothing is added to any
interface and no traffic leaves loopback.

Standard library only (it runs in Tempest's virtualenv):

    with NsForward("sse2e123", 8123):
        ...  # inside sse2e123, 127.0.0.1:8123 reaches the API

or, as a process: ``python nsforward.py NS PORT`` (forwards until SIGTERM or SIGINT).
"""

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'setns: %s' % os.strerror(err))


@contextlib.contextmanager
def entered(netns):
    """Run the calling thread inside the named namespace (``ip netns`` name) for a moment."""
    path = os.path.join('/run/netns', netns)
    if not os.path.exists(path):
        raise FileNotFoundError('network namespace %r does not exist (%s)' % (netns, path))
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def listen_in(netns, host, port):
    """A listening TCP socket bound to host:port inside netns."""
    with entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
    return sock


class NsForward:
    """127.0.0.1:port inside netns -> target (default 127.0.0.1:port here), until close()."""

    def __init__(self, netns, port, target=None):
        self.netns = netns
        self.port = port
        self.target = target or ('127.0.0.1', port)
        self._listener = None
        self._conns = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def start(self):
        self._listener = listen_in(self.netns, '127.0.0.1', self.port)
        threading.Thread(target=self._accept, name='nsforward-accept', daemon=True).start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop listening and cut every open connection."""
        self._closed.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self):
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed.is_set():
                    client.close()
                    upstream.close()
                    return
                self._conns.update((client, upstream))
            pair = [client, upstream, 2]  # the two sockets and the pumps still running
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        with self._lock:  # the second pump to finish closes both sockets
            pair[2] -= 1
            if pair[2]:
                return
            self._conns.discard(src)
            self._conns.discard(dst)
        src.close()
        dst.close()


def main(argv):
    if len(argv) != 3 or not argv[2].isdigit():
        sys.exit('usage: nsforward.py NETNS PORT')
    fwd = NsForward(argv[1], int(argv[2])).start()
    print('nsforward: 127.0.0.1:%s in %s -> 127.0.0.1:%s' % (argv[2], argv[1], argv[2]),
          flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    fwd.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
