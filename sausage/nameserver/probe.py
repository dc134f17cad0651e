"""Ask the nameserver itself, over DNS, which serial of a zone it answers.

A zone counts as published only once the server answers its new SOA serial: this is the
question, sent over UDP with dnspython through the same ``SocketFactory`` as the API client
(so the server may listen inside another network namespace).
"""

from __future__ import annotations

import socket

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from sausage.nameserver.netns import SocketFactory, socket_factory

__all__ = ["serial", "query"]


def query(host: str, port: int, qname: str, rdtype: str,
          factory: SocketFactory | None = None, timeout: float = 2.0) -> dns.message.Message:
    """One UDP query to ``host``:``port``; raises dns.exception.DNSException or OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = (factory or socket_factory(None))(family, socket.SOCK_DGRAM)
    try:
        # dnspython waits (with the timeout) only on a non-blocking socket; on a blocking one a
        # lost answer (a server restarting: the port is not bound) would block forever
        sock.setblocking(False)
        # connected: a port nobody listens on is an error at once (ICMP), not a timeout
        sock.connect((host, port))
        message = dns.message.make_query(qname, rdtype)
        return dns.query.udp(message, host, port=port, timeout=timeout, sock=sock)
    finally:
        sock.close()


def serial(host: str, port: int, zone: str, factory: SocketFactory | None = None,
           timeout: float = 2.0) -> int | None:
    """The SOA serial the server answers with authority for ``zone``; None when it does not
    (no answer, an error code, not authoritative, or not this zone's SOA)."""
    try:
        answer = query(host, port, zone, "SOA", factory, timeout)
    except (dns.exception.DNSException, OSError):
        return None
    if answer.rcode() != dns.rcode.NOERROR or not answer.flags & dns.flags.AA:
        return None
    want = dns.name.from_text(zone)
    for rrset in answer.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == want:
            for rdata in rrset:
                return int(rdata.serial)
    return None
