"""The L2 links of the host namespace over rtnetlink (pyroute2): observe them, apply the
planner's actions (``sausage.agent.plan.network``), purge them.

Used by the network reconciler (``sausage.agent.network``), ``sausage down --purge`` and the
host tests. The agent process stays in the root namespace; this driver does all its work in
ONE dedicated thread that has ``setns``-ed itself into the data plane's namespace (a thread's
namespace is its own; a netlink socket keeps the namespace it was made in). ``run`` hands any
callable to that thread, which is how the nft driver runs ``nft`` there too (a child forked
by that thread is born in its namespace).

``ops`` counts kernel round trips (netlink requests, tun ioctls, sysctl writes) for the bench.
Failures become ``DriverError`` with the errno as the code.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import ipaddress
import logging
import os
import pathlib
import struct
from collections.abc import Callable
from typing import Any, TypeVar

from pyroute2 import IPRoute, netns  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from sausage.agent.drivers.errors import DriverError
from sausage.agent.plan import network as plan

__all__ = ["Netlink", "BRIDGE_NF_SYSCTLS"]

log = logging.getLogger(__name__)

T = TypeVar("T")

IFF_UP = 0x1
_TUNSETIFF = 0x400454CA
_TUNSETPERSIST = 0x400454CB
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000
_IFF_VNET_HDR = 0x4000
_ZERO_MAC = "00:00:00:00:00:00"

# This kernel has no nf_conntrack_bridge (CONFIG_NF_CONNTRACK_BRIDGE unset): bridged IP gets
# its conntrack entry from br_netfilter handing it to the IP hooks, which needs
# bridge-nf-call-ip(6)tables = 1; the nft driver then carries the ct state into the bridge
# table as a mark (see drivers/nft.py). ARP is filtered in the bridge table only: arptables 0.
# With native bridge conntrack the IP keys are 0 — br_netfilter must not process frames twice.
BRIDGE_NF_SYSCTLS = {
    True: {"net.bridge.bridge-nf-call-iptables": "0", "net.bridge.bridge-nf-call-ip6tables": "0",
           "net.bridge.bridge-nf-call-arptables": "0"},
    False: {"net.bridge.bridge-nf-call-iptables": "1",
            "net.bridge.bridge-nf-call-ip6tables": "1",
            "net.bridge.bridge-nf-call-arptables": "0"},
}


class Netlink:
    """rtnetlink in namespace ``netns`` (None: the agent's own, the root namespace)."""

    def __init__(self, netns_name: str | None) -> None:
        self.netns = netns_name
        self.ops = 0
        self._ipr: Any = None  # only ever touched by the worker thread
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"netlink-{netns_name or 'root'}", initializer=self._enter)

    # -- the worker thread ---------------------------------------------------------------------
    def _enter(self) -> None:
        if self.netns is not None:
            netns.setns(self.netns, flags=0)

    def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the data plane's namespace (in the driver's thread); its result."""
        try:
            return self._pool.submit(fn).result()
        except concurrent.futures.BrokenExecutor as e:
            # The namespace is missing (yet): try again with a fresh thread next time.
            self._pool = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix=f"netlink-{self.netns}", initializer=self._enter)
            raise DriverError(f"cannot enter network namespace {self.netns}: {e}") from e

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """One netlink request (in the worker thread)."""
        if self._ipr is None:
            self._ipr = IPRoute()
        self.ops += 1
        try:
            return getattr(self._ipr, method)(*args, **kwargs)
        except NetlinkError as e:
            raise DriverError(f"netlink {method} {args} {kwargs}: {e}", e.code) from e

    def close(self) -> None:
        def shut() -> None:
            if self._ipr is not None:
                self._ipr.close()
                self._ipr = None
        with contextlib.suppress(DriverError, RuntimeError):
            self.run(shut)
        self._pool.shutdown(wait=True)

    # -- observation -----------------------------------------------------------------------------
    def links(self) -> list[plan.Link]:
        """Every link with its bridge, MTU, VXLAN settings, addresses and flood entries: three
        dumps, however many links there are."""
        return self.run(self._links)

    def _links(self) -> list[plan.Link]:
        raw = list(self._call("get_links"))
        names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in raw}
        addresses: dict[int, set[str]] = {}
        for msg in self._call("get_addr"):
            addr = msg.get_attr("IFA_ADDRESS")
            if addr is not None:
                addresses.setdefault(msg["index"], set()).add(f"{addr}/{msg['prefixlen']}")
        kinds = {msg["index"]: _kind(msg) for msg in raw}
        fdb: dict[int, set[str]] = {}
        if "vxlan" in kinds.values():
            for msg in self._call("fdb", "dump"):
                dst = msg.get_attr("NDA_DST")
                if (kinds.get(msg["ifindex"]) == "vxlan" and dst is not None
                        and msg.get_attr("NDA_LLADDR") == _ZERO_MAC):
                    fdb.setdefault(msg["ifindex"], set()).add(str(dst))
        links = []
        for msg in raw:
            index, kind = msg["index"], kinds[msg["index"]]
            master = msg.get_attr("IFLA_MASTER")
            vxlan: dict[str, Any] = {}
            if kind == "vxlan":
                data = msg.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
                vxlan = {"vni": data.get_attr("IFLA_VXLAN_ID"),
                         "local": data.get_attr("IFLA_VXLAN_LOCAL"),
                         "port": data.get_attr("IFLA_VXLAN_PORT"),
                         "learning": bool(data.get_attr("IFLA_VXLAN_LEARNING"))}
            links.append(plan.Link(
                name=msg.get_attr("IFLA_IFNAME"), kind=kind,
                master=names.get(master) if master else None, mtu=msg.get_attr("IFLA_MTU"),
                up=bool(msg["flags"] & IFF_UP), addresses=frozenset(addresses.get(index, ())),
                fdb=frozenset(fdb.get(index, ())), **vxlan))
        return links

    # -- acting ---------------------------------------------------------------------------------
    def execute(self, action: plan.Action) -> None:
        """Apply one planned action; DriverError when the kernel refuses."""
        self.run(lambda: self._execute(action))

    def execute_all(self, actions: list[plan.Action]) -> list[str]:
        """Apply the actions in order; a failed one is reported and the rest still tried.
        Returns the failures' messages."""
        def all_of() -> list[str]:
            errors = []
            for action in actions:
                try:
                    self._execute(action)
                except DriverError as e:
                    log.warning("%s failed: %s", action, e.message)
                    errors.append(f"{type(action).__name__} {action.name}: {e.message}")
            return errors
        return self.run(all_of)

    def _index(self, name: str) -> int:
        found = self._call("link_lookup", ifname=name)
        if not found:
            raise DriverError(f"no link {name}")
        return int(found[0])

    def _execute(self, action: plan.Action) -> None:
        match action:
            case plan.CreateBridge(name=name, mtu=mtu):
                self._call("link", "add", ifname=name, kind="bridge", mtu=mtu)
            case plan.CreateVxlan(name=name, vni=vni, local=local, mtu=mtu):
                options: dict[str, Any] = {"vxlan_id": vni, "vxlan_port": plan.VXLAN_PORT,
                                           "vxlan_learning": 0}
                if local is not None:
                    options["vxlan_local"] = local
                self._call("link", "add", ifname=name, kind="vxlan", mtu=mtu, **options)
            case plan.CreateTap(name=name, mtu=mtu):
                self._create_tap(name)
                self._call("link", "set", index=self._index(name), mtu=mtu)
            case plan.SetMtu(name=name, mtu=mtu):
                self._call("link", "set", index=self._index(name), mtu=mtu)
            case plan.SetMaster(name=name, master=master):
                self._call("link", "set", index=self._index(name), master=self._index(master))
            case plan.SetUp(name=name):
                self._call("link", "set", index=self._index(name), state="up")
            case plan.AddAddress(name=name, address=address):
                iface = ipaddress.ip_interface(address)
                self._call("addr", "add", index=self._index(name), address=str(iface.ip),
                           prefixlen=iface.network.prefixlen)
            case plan.AddFdb(name=name, dst=dst):
                self._call("fdb", "append", ifindex=self._index(name), lladdr=_ZERO_MAC, dst=dst)
            case plan.DelFdb(name=name, dst=dst):
                self._call("fdb", "del", ifindex=self._index(name), lladdr=_ZERO_MAC, dst=dst)
            case plan.DeleteLink(name=name):
                found = self._call("link_lookup", ifname=name)
                if found:
                    self._call("link", "del", index=found[0])

    def _create_tap(self, name: str) -> None:
        """A persistent tap with the flags QEMU asks for (it opens it by name: script=no)."""
        self.ops += 1
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR)
        except OSError as e:
            raise DriverError(f"cannot open /dev/net/tun: {e}", e.errno) from e
        try:
            ifr = struct.pack("16sH", name.encode(), _IFF_TAP | _IFF_NO_PI | _IFF_VNET_HDR)
            fcntl.ioctl(fd, _TUNSETIFF, ifr)
            fcntl.ioctl(fd, _TUNSETPERSIST, 1)
        except OSError as e:
            raise DriverError(f"cannot create tap {name}: {e}", e.errno) from e
        finally:
            os.close(fd)

    # -- the namespace's settings ----------------------------------------------------------------
    def set_sysctls(self, values: dict[str, str]) -> None:
        """Write ``net.*`` sysctls as the data plane's namespace sees them (keys that this
        kernel lacks are skipped)."""
        def write() -> None:
            for key, value in values.items():
                path = pathlib.Path("/proc/sys") / key.replace(".", "/")
                try:
                    if path.read_text().strip() != value:
                        self.ops += 1
                        path.write_text(value)
                except FileNotFoundError:
                    continue
                except OSError as e:
                    raise DriverError(f"cannot set {key}={value}: {e}", e.errno) from e
        self.run(write)

    # -- purge -----------------------------------------------------------------------------------
    def purge(self, extra_bridges: frozenset[str] = frozenset()) -> list[str]:
        """Delete every link of ours (``plan.is_ours``) and the named mapping bridges; returns
        the names deleted."""
        def delete() -> list[str]:
            gone = []
            for link in self._links():
                if plan.is_ours(link) or (link.name in extra_bridges and link.kind == "bridge"):
                    with contextlib.suppress(DriverError):
                        self._execute(plan.DeleteLink(link.name))
                        gone.append(link.name)
            return gone
        return self.run(delete)


def _kind(msg: Any) -> str | None:
    info = msg.get_attr("IFLA_LINKINFO")
    if info is None:
        return None
    kind = info.get_attr("IFLA_INFO_KIND")
    return str(kind) if kind is not None else None
