"""Network namespaces and the links into them, over netlink (pyroute2): the toolbox of the
DHCP and router drivers (``dhcp.py``, ``router.py``).

The agent process stays in the root namespace; everything here names the namespace it acts
in (``None`` = the root namespace). A veth pair joins a namespace to a bridge of the host
namespace: the host end (``tap…``) is enslaved to the bridge, the other end (``ns-``/``qr-``/
``qg-``) lives in the namespace with the port's MAC and addresses. Work that must happen
*inside* a namespace (sysctls, creating a listening socket) runs in a short-lived thread that
``setns``es itself there: a thread's namespace is its own, and a socket keeps the namespace it
was made in.

Every function is idempotent, and raises ``DriverError`` (with the netlink errno as its code)
when the kernel refuses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import pathlib
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pyroute2 import IPRoute, netns  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from sausage.agent.drivers.errors import DriverError

__all__ = [
    "NETNS_DIR", "exists", "names", "create", "delete", "pids", "run_in", "set_sysctls",
    "iproute", "plug_veth", "delete_link", "set_addresses", "set_routes", "link_names", "wait_for",
    "alive",
]

NETNS_DIR = pathlib.Path("/run/netns")
RTPROT_STATIC = 4  # the routes we add carry this protocol, so we know which ones are ours
MAIN_TABLE = 254

T = TypeVar("T")


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def names(prefix: str) -> list[str]:
    """Namespaces whose name starts with ``prefix``."""
    try:
        return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith(prefix))
    except FileNotFoundError:
        return []


def create(name: str) -> None:
    """Create the namespace (if missing) with ``lo`` up."""
    if not exists(name):
        try:
            netns.create(name)
        except OSError as e:
            raise DriverError(f"cannot create network namespace {name}: {e}", e.errno) from e
    with iproute(name) as ipr:
        lo = ipr.link_lookup(ifname="lo")
        if lo:
            ipr.link("set", index=lo[0], state="up")


def pids(name: str) -> list[int]:
    """Processes whose network namespace is ``name``."""
    try:
        inode = (NETNS_DIR / name).stat().st_ino
    except FileNotFoundError:
        return []
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "ns" / "net").stat().st_ino == inode:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def delete(name: str) -> None:
    """Remove the namespace: kill what still runs in it, delete its links (so the host ends of
    its veth pairs go at once, not when the last reference to the namespace drops), unmount."""
    if not exists(name):
        return
    for pid in pids(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(DriverError), iproute(name) as ipr:
        for link in ipr.get_links():
            if link.get_attr("IFLA_IFNAME") != "lo":
                with contextlib.suppress(NetlinkError):
                    ipr.link("del", index=link["index"])
    try:
        netns.remove(name)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise DriverError(f"cannot remove network namespace {name}: {e}", e.errno) from e


def run_in(name: str | None, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread that first enters namespace ``name``; return its result.
    The agent's own threads never change namespace."""
    if name is None:
        return fn()
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            netns.setns(name, flags=0)
            result.append(fn())
        except BaseException as e:  # noqa: BLE001 (re-raised in the caller's thread)
            failure.append(e)

    thread = threading.Thread(target=target, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        if isinstance(failure[0], OSError):
            raise DriverError(f"in network namespace {name}: {failure[0]}",
                              failure[0].errno) from failure[0]
        raise failure[0]
    return result[0]


def set_sysctls(name: str | None, values: dict[str, str],
                optional: frozenset[str] = frozenset()) -> None:
    """Write ``net.*`` sysctls (dotted keys) as seen from namespace ``name``; keys in
    ``optional`` are skipped when the kernel lacks them (IPv6 disabled)."""
    def write() -> None:
        for key, value in values.items():
            path = pathlib.Path("/proc/sys") / key.replace(".", "/")
            if key in optional and not path.exists():
                continue
            if path.read_text().strip() != value:
                path.write_text(value)

    run_in(name, write)


@contextlib.contextmanager
def iproute(name: str | None) -> Iterator[Any]:
    """An rtnetlink socket in namespace ``name`` (never creating it); NetlinkErrors raised in
    the block become DriverErrors."""
    try:
        ipr = IPRoute(netns=name, flags=0) if name is not None else IPRoute()
    except (OSError, NetlinkError) as e:
        raise DriverError(f"cannot open netlink in namespace {name}: {e}",
                          getattr(e, "code", None) or getattr(e, "errno", None)) from e
    try:
        yield ipr
    except NetlinkError as e:
        raise DriverError(f"netlink ({name or 'root namespace'}): {e}", e.code) from e
    finally:
        ipr.close()


def link_names(name: str | None) -> set[str]:
    with iproute(name) as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def plug_veth(host_ns: str | None, bridge: str, host_end: str, ns: str, ns_end: str, mac: str,
              mtu: int | None = None) -> bool:
    """A veth pair ``host_end`` (on ``bridge``, in ``host_ns``) ↔ ``ns_end`` (in ``ns``, with
    ``mac``), both up with ``mtu`` (None: the bridge's). A pair that exists is only corrected
    (bridge, MTU, MAC). True when the pair was made anew."""
    created = False
    with iproute(host_ns) as ipr:
        bridges = ipr.link_lookup(ifname=bridge)
        if not bridges:
            raise DriverError(f"bridge {bridge} does not exist")
        if mtu is None:
            mtu = int(ipr.get_links(bridges[0])[0].get_attr("IFLA_MTU"))
        found = ipr.link_lookup(ifname=host_end)
        if found:
            with iproute(ns) as inner:
                peer_here = bool(inner.link_lookup(ifname=ns_end))
            if not peer_here:  # a stale host end whose peer is gone or elsewhere: start over
                ipr.link("del", index=found[0])
                found = []
        if not found:
            ipr.link("add", ifname=host_end, kind="veth", mtu=mtu,
                     peer={"ifname": ns_end, "net_ns_fd": ns, "mtu": mtu})
            found = ipr.link_lookup(ifname=host_end)
            created = True
        index = found[0]
        link = ipr.get_links(index)[0]
        if link.get_attr("IFLA_MASTER") != bridges[0] or link.get_attr("IFLA_MTU") != mtu:
            ipr.link("set", index=index, master=bridges[0], mtu=mtu)
        ipr.link("set", index=index, state="up")
    with iproute(ns) as ipr:
        index = ipr.link_lookup(ifname=ns_end)[0]
        link = ipr.get_links(index)[0]
        if (link.get_attr("IFLA_ADDRESS") or "").lower() != mac.lower():
            ipr.link("set", index=index, state="down")
            ipr.link("set", index=index, address=mac)
        if link.get_attr("IFLA_MTU") != mtu:
            ipr.link("set", index=index, mtu=mtu)
        ipr.link("set", index=index, state="up")
    return created


def delete_link(name: str | None, ifname: str) -> None:
    """Delete a link of namespace ``name`` if it is there (a veth takes its peer along)."""
    with iproute(name) as ipr:
        for index in ipr.link_lookup(ifname=ifname):
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=index)


def set_addresses(ns: str, ifname: str, cidrs: Sequence[str]) -> None:
    """Make ``cidrs`` ("10.0.0.2/24", "169.254.169.254/32", "2001:db8::2/64") exactly the
    global addresses of ``ifname`` (IPv6 link-local addresses are left alone)."""
    wanted = {ipaddress.ip_interface(cidr) for cidr in cidrs}
    with iproute(ns) as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        have = set()
        for msg in ipr.get_addr(index=index):
            iface = ipaddress.ip_interface(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}")
            if iface.ip.is_link_local and iface.version == 6:
                continue
            have.add(iface)
        for iface in sorted(have - wanted, key=str):
            ipr.addr("del", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
        for iface in sorted(wanted - have, key=str):
            # nodad: the address is ours by the API's allocation; waiting for DAD only delays
            extra = {"flags": 0x02} if iface.version == 6 else {}
            ipr.addr("add", index=index, address=str(iface.ip),
                     prefixlen=iface.network.prefixlen, **extra)


def set_routes(ns: str, routes: Sequence[tuple[str, str]]) -> None:
    """Make ``routes`` ((destination CIDR, next hop) pairs) exactly the static routes of the
    namespace's main table; connected routes are the kernel's and stay. Routes the kernel
    refuses (a next hop not on any link) are reported in one DriverError after the others
    are in place."""
    wanted = {(str(ipaddress.ip_network(dst, strict=False)), str(ipaddress.ip_address(hop)))
              for dst, hop in routes}
    with iproute(ns) as ipr:
        have: dict[tuple[str, str], dict[str, Any]] = {}
        for family in (2, 10):
            for msg in ipr.get_routes(family=family, table=MAIN_TABLE):
                if msg["proto"] != RTPROT_STATIC or msg.get_attr("RTA_TABLE") != MAIN_TABLE:
                    continue
                dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if family == 2 else "::")
                hop = msg.get_attr("RTA_GATEWAY")
                if hop is None:
                    continue
                key = (str(ipaddress.ip_network(f"{dst}/{msg['dst_len']}", strict=False)),
                       str(ipaddress.ip_address(hop)))
                have[key] = {"dst": f"{dst}/{msg['dst_len']}", "gateway": hop,
                             "family": family}
        for key in set(have) - wanted:
            with contextlib.suppress(NetlinkError):
                ipr.route("del", table=MAIN_TABLE, proto=RTPROT_STATIC, **have[key])
        errors = []
        for dst, hop in sorted(wanted - set(have)):
            family = 10 if ":" in hop else 2
            try:
                ipr.route("replace", dst=dst, gateway=hop, family=family, table=MAIN_TABLE,
                          proto=RTPROT_STATIC)
            except NetlinkError as e:
                errors.append(f"route {dst} via {hop}: {e}")
        if errors:
            raise DriverError(f"in namespace {ns}: " + "; ".join(errors))


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_for(predicate: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True
