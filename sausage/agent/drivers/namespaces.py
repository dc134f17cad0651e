"""Network namespaces and the links into them, over netlink (pyroute2): the toolbox of the
DHCP and router drivers (``dhcp.py``, ``router.py``).

The agent process stays in the root namespace; everything here names the namespace it acts
in (``None`` = the root namespace). A veth pair joins a namespace to a bridge of the host
namespace: the host end (``tap…``) is enslaved to the bridge, the other end (``ns-``/``qr-``/
``qg-``) lives in the namespace with the port's MAC and addresses. Work that must happen
*inside* a namespace (sysctls, creating a listening socket) runs in a short-lived thread that
``setns``es itself there: a thread's namespace is its own, and a socket keeps the namespace it
was made in. Netlink requests run the same way (an rtnetlink socket made in that thread), so
nothing here forks the agent's multithreaded process.

Every function is idempotent, and raises ``DriverError`` (with the netlink errno as its code)
when the kernel refuses.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import pathlib
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pyroute2 import IPRoute, netns  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from sausage.agent.drivers.errors import DriverError

__all__ = [
    "NETNS_DIR", "exists", "names", "create", "delete", "pids", "run_in", "set_sysctls",
    "netlink", "plug_veth", "delete_link", "set_addresses", "set_routes", "link_names", "wait_for",
    "alive",
]

NETNS_DIR = pathlib.Path("/run/netns")
RTPROT_STATIC = 4  # the routes we add carry this protocol, so we know which ones are ours
MAIN_TABLE = 254
CLONE_NEWNET = 0x40000000

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
        def unshare_and_attach() -> None:
            # unshare() moves only this thread into a new namespace; attaching the thread's
            # namespace to /run/netns/<name> keeps it after the thread is gone.
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
            netns.attach(name, f"{os.getpid()}/task/{threading.get_native_id()}")

        try:
            run_in(None, unshare_and_attach)
        except DriverError as e:
            raise DriverError(f"cannot create network namespace {name}: {e}", e.code) from e

    def lo_up(ipr: Any) -> None:
        for index in ipr.link_lookup(ifname="lo"):
            ipr.link("set", index=index, state="up")

    netlink(name, lo_up)


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
    def delete_links(ipr: Any) -> None:
        for link in ipr.get_links():
            if link.get_attr("IFLA_IFNAME") != "lo":
                with contextlib.suppress(NetlinkError):
                    ipr.link("del", index=link["index"])

    with contextlib.suppress(DriverError):
        netlink(name, delete_links)
    try:
        netns.remove(name)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise DriverError(f"cannot remove network namespace {name}: {e}", e.errno) from e


def run_in(name: str | None, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread that first enters namespace ``name`` (None: the root
    namespace, where the agent is); return its result. The agent's own threads never change
    namespace."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            if name is not None:
                netns.setns(name, flags=0)
            result.append(fn())
        except BaseException as e:  # noqa: BLE001 (re-raised in the caller's thread)
            failure.append(e)

    thread = threading.Thread(target=target, name=f"netns-{name or 'root'}", daemon=True)
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


def netlink(name: str | None, fn: Callable[[Any], T]) -> T:
    """``fn(ipr)`` with an rtnetlink socket (pyroute2 ``IPRoute``) in namespace ``name``, in a
    thread of its own; a NetlinkError it raises becomes a DriverError."""
    def work() -> T:
        ipr = IPRoute()
        try:
            return fn(ipr)
        except NetlinkError as e:
            raise DriverError(f"netlink ({name or 'root namespace'}): {e}", e.code) from e
        finally:
            ipr.close()

    return run_in(name, work)


def link_names(name: str | None) -> set[str]:
    return netlink(name, lambda ipr: {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()})


def plug_veth(host_ns: str | None, bridge: str, host_end: str, ns: str, ns_end: str, mac: str,
              mtu: int | None = None) -> bool:
    """A veth pair ``host_end`` (on ``bridge``, in ``host_ns``) ↔ ``ns_end`` (in ``ns``, with
    ``mac``), both up with ``mtu`` (None: the bridge's). A pair that exists is only corrected
    (bridge, MTU, MAC). True when the pair was made anew."""
    peer_here = ns_end in link_names(ns)

    def outside(ipr: Any) -> tuple[bool, int]:
        bridges = ipr.link_lookup(ifname=bridge)
        if not bridges:
            raise DriverError(f"bridge {bridge} does not exist")
        size = mtu if mtu is not None else int(ipr.get_links(bridges[0])[0].get_attr("IFLA_MTU"))
        found = ipr.link_lookup(ifname=host_end)
        if found and not peer_here:  # a stale host end whose peer is gone: start over
            ipr.link("del", index=found[0])
            found = []
        created = not found
        if created:
            ipr.link("add", ifname=host_end, kind="veth", mtu=size,
                     peer={"ifname": ns_end, "net_ns_fd": ns, "mtu": size})
            found = ipr.link_lookup(ifname=host_end)
        link = ipr.get_links(found[0])[0]
        if link.get_attr("IFLA_MASTER") != bridges[0] or link.get_attr("IFLA_MTU") != size:
            ipr.link("set", index=found[0], master=bridges[0], mtu=size)
        ipr.link("set", index=found[0], state="up")
        return created, size

    created, size = netlink(host_ns, outside)

    def inside(ipr: Any) -> None:
        index = ipr.link_lookup(ifname=ns_end)[0]
        link = ipr.get_links(index)[0]
        if (link.get_attr("IFLA_ADDRESS") or "").lower() != mac.lower():
            ipr.link("set", index=index, state="down")
            ipr.link("set", index=index, address=mac)
        if link.get_attr("IFLA_MTU") != size:
            ipr.link("set", index=index, mtu=size)
        ipr.link("set", index=index, state="up")

    netlink(ns, inside)
    return created


def delete_link(name: str | None, ifname: str) -> None:
    """Delete a link of namespace ``name`` if it is there (a veth takes its peer along)."""
    def delete(ipr: Any) -> None:
        for index in ipr.link_lookup(ifname=ifname):
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=index)

    netlink(name, delete)


def set_addresses(ns: str, ifname: str, cidrs: Sequence[str]) -> None:
    """Make ``cidrs`` ("10.0.0.2/24", "169.254.169.254/32", "2001:db8::2/64") exactly the
    global addresses of ``ifname`` (IPv6 link-local addresses are left alone)."""
    wanted = {ipaddress.ip_interface(cidr) for cidr in cidrs}

    def converge(ipr: Any) -> None:
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

    netlink(ns, converge)


def set_routes(ns: str, routes: Sequence[tuple[str, str]]) -> None:
    """Make ``routes`` ((destination CIDR, next hop) pairs) exactly the static routes of the
    namespace's main table; connected routes are the kernel's and stay. Routes the kernel
    refuses (a next hop not on any link) are reported in one DriverError after the others
    are in place."""
    wanted = {(str(ipaddress.ip_network(dst, strict=False)), str(ipaddress.ip_address(hop)))
              for dst, hop in routes}

    def converge(ipr: Any) -> list[str]:
        have: dict[tuple[str, str], dict[str, Any]] = {}
        for family in (2, 10):
            for msg in ipr.get_routes(family=family, table=MAIN_TABLE):
                hop = msg.get_attr("RTA_GATEWAY")
                if (msg["proto"] != RTPROT_STATIC or msg.get_attr("RTA_TABLE") != MAIN_TABLE
                        or hop is None):
                    continue
                dst = f"{msg.get_attr('RTA_DST') or ('0.0.0.0' if family == 2 else '::')}"
                dst += f"/{msg['dst_len']}"
                key = (str(ipaddress.ip_network(dst, strict=False)),
                       str(ipaddress.ip_address(hop)))
                have[key] = {"dst": dst, "gateway": hop, "family": family}
        for key in set(have) - wanted:
            with contextlib.suppress(NetlinkError):
                ipr.route("del", table=MAIN_TABLE, proto=RTPROT_STATIC, **have[key])
        errors = []
        for dst, hop in sorted(wanted - set(have)):
            try:
                ipr.route("replace", dst=dst, gateway=hop, family=10 if ":" in hop else 2,
                          table=MAIN_TABLE, proto=RTPROT_STATIC)
            except NetlinkError as e:
                errors.append(f"route {dst} via {hop}: {e}")
        return errors

    errors = netlink(ns, converge)
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
