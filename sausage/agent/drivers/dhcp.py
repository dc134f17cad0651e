"""DHCP and metadata for tenant networks: one ``qdhcp-<network_id>`` namespace per network,
one dnsmasq in it, and the metadata proxy's listener (``metadata_proxy.py``).

Called by the agent's network reconciler (``sausage/agent/network.py``) after L2 is in place:
``DhcpDriver(...).apply(networks, bridge_for)`` with the networks of the desired document
(those with ``dhcp`` are served, every other qdhcp namespace of ours is removed), and
``purge()`` on ``sausage down --purge``.

Per network: a veth ``tap<port>`` (on the network's bridge, in the host namespace) ↔
``ns-<port>`` (in the qdhcp namespace, with the DHCP port's MAC, its address in each subnet and
169.254.169.254/32); dnsmasq bound to ``ns-<port>`` answers only the hosts listed (static
leases), with the MTU, DNS servers, domain, router and classless static routes (option 121,
and the Microsoft 249) — the metadata address via the DHCP port and, because a client that
accepts 121 ignores option 3, the default route too. It is also the network's internal DNS (as
Neutron's): on the DHCP port's addresses it answers the hosts' names, short and under the
network's domain (``addn_hosts``), keeps that domain to itself and forwards other names only to
the network's resolvers (``servers``); with none it refuses them. Host, option, name and
resolver changes rewrite the files and SIGHUP dnsmasq; only a change of its command line (the
set of subnets, their modes) restarts it.
dnsmasq daemonizes: it outlives an agent restart, which finds it again by its pid file.

The rendering functions at the top are pure (tested in tests/unit/test_dhcp_router_render.py).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

from sausage.agent.drivers import metadata_proxy, namespaces
from sausage.agent.drivers.errors import DriverError
from sausage.contract import host as contract

__all__ = ["DhcpDriver", "DNSMASQ", "LEASE_TIME", "render_hosts", "render_opts",
           "render_addn_hosts", "render_servers",
           "dnsmasq_args", "namespace_name", "device_names", "served_subnets"]

log = logging.getLogger("sausage.agent.dhcp")

DNSMASQ = "/usr/sbin/dnsmasq"
LEASE_TIME = "24h"
RESYNC_SECONDS = 300.0  # a network unchanged since its last apply is re-applied this often


# -- pure rendering ---------------------------------------------------------------------------------
def namespace_name(prefix: str, network_id: str) -> str:
    return f"{prefix}qdhcp-{network_id}"


def device_names(port_id: str) -> tuple[str, str]:
    """(host end on the bridge, end in the qdhcp namespace)."""
    return f"tap{port_id[:11]}", f"ns-{port_id[:11]}"


def _tag(subnet: contract.DesiredSubnet) -> str:
    return f"subnet-{subnet['id']}"


def served_subnets(dhcp: contract.DesiredDhcp) -> list[contract.DesiredSubnet]:
    """Subnets dnsmasq answers on: DHCP enabled, an address for the DHCP port, and for IPv6 a
    mode that involves the DHCP server."""
    served = []
    for subnet in dhcp["subnets"]:
        if not subnet["enable_dhcp"] or not subnet["dhcp_ip"]:
            continue
        if subnet["ip_version"] == 6 and subnet["ipv6_address_mode"] not in (
                "slaac", "dhcpv6-stateless", "dhcpv6-stateful", None):
            continue
        served.append(subnet)
    return served


def _hostname(name: str, ip: str) -> str:
    """A DNS label dnsmasq accepts; the hosts file is line- and comma-separated, so nothing
    else may pass from the API's names into it."""
    label = re.sub(r"[^A-Za-z0-9-]", "-", name)[:63].strip("-")
    return label or "host-" + re.sub(r"[.:]", "-", ip)


def _mac(mac: str) -> str:
    if not re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", mac):
        raise DriverError(f"invalid MAC address {mac!r}")
    return mac.lower()


def render_hosts(dhcp: contract.DesiredDhcp) -> str:
    """The --dhcp-hostsfile: one static lease per line, ``mac,ip,hostname,lease``."""
    lines = []
    for host in sorted(dhcp["hosts"], key=lambda h: (h["mac"], h["ip"])):
        ip = ipaddress.ip_address(host["ip"])
        address = f"[{ip}]" if ip.version == 6 else str(ip)
        lines.append(f"{_mac(host['mac'])},{address},{_hostname(host['hostname'], str(ip))},"
                     f"{LEASE_TIME}")
    return "".join(line + "\n" for line in lines)


def host_pairs(hosts: str) -> set[tuple[str, str]]:
    """(mac, address) of each line of a rendered hosts file."""
    pairs = set()
    for line in hosts.splitlines():
        fields = line.split(",")
        if len(fields) >= 2:
            pairs.add((fields[0].lower(), fields[1].strip("[]")))
    return pairs


def prune_leases(path: pathlib.Path, keep: set[tuple[str, str]]) -> None:
    """Drop the lease-file lines (``expiry mac address host client-id``) of hosts not kept."""
    text = _read(path)
    if not text:
        return
    lines = [line for line in text.splitlines()
             if len(line.split()) < 3 or (line.split()[1].lower(), line.split()[2]) in keep]
    path.write_text("".join(line + "\n" for line in lines))


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _classless_routes(subnet: contract.DesiredSubnet) -> list[tuple[str, str]]:
    """Option 121 routes: the subnet's host routes, the metadata address via the DHCP port,
    and the default route via the gateway (RFC 3442: with 121 the client ignores option 3)."""
    routes: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(destination: str, nexthop: str) -> None:
        network = str(ipaddress.ip_network(destination, strict=False))
        if network not in seen:
            seen.add(network)
            routes.append((network, str(ipaddress.ip_address(nexthop))))

    for route in subnet["host_routes"]:
        if ipaddress.ip_network(route["destination"], strict=False).version == 4:
            add(route["destination"], route["nexthop"])
    if subnet["dhcp_ip"]:
        add(f"{contract.METADATA_ADDRESS}/32", subnet["dhcp_ip"])
    if subnet["gateway_ip"]:
        add("0.0.0.0/0", subnet["gateway_ip"])
    return routes


def render_opts(network: contract.DesiredNetwork) -> str:
    """The --dhcp-optsfile: per subnet (tagged by its dhcp-range) MTU, DNS servers, router and
    classless static routes."""
    dhcp = network["dhcp"]
    domain = _domain(network)
    lines = []
    for subnet in served_subnets(dhcp):
        tag = f"tag:{_tag(subnet)}"
        if subnet["ip_version"] == 4:
            lines.append(f"{tag},option:mtu,{network['mtu']}")
            # An empty router option makes dnsmasq send none (it would offer itself otherwise).
            lines.append(f"{tag},option:router,{subnet['gateway_ip'] or ''}".rstrip(","))
            lines.append(f"{tag},option:dns-server,{','.join(_dns_servers(subnet))}"
                         .rstrip(","))
            routes = ",".join(f"{dst},{hop}" for dst, hop in _classless_routes(subnet))
            if routes:
                lines.append(f"{tag},option:classless-static-route,{routes}")
                lines.append(f"{tag},249,{routes}")
            if domain:
                lines.append(f"{tag},option:domain-name,{domain}")
        else:
            servers = [f"[{s}]" for s in _dns_servers(subnet)]
            if servers or subnet["dns_nameservers"]:
                lines.append(f"{tag},option6:dns-server,{','.join(servers)}".rstrip(","))
            if domain:
                lines.append(f"{tag},option6:domain-search,{domain}")
    return "".join(line + "\n" for line in lines)


def _dns_servers(subnet: contract.DesiredSubnet) -> list[str]:
    """Option 6 (and DHCPv6's 23) as Neutron sends it: the subnet's name servers of its IP
    version ("any", 0.0.0.0 or ::, means none), else the DHCP port's own address, where this
    dnsmasq answers DNS."""
    version = subnet["ip_version"]
    given = [ipaddress.ip_address(s) for s in subnet["dns_nameservers"]]
    if given:
        return [str(a) for a in given if a.version == version and not a.is_unspecified]
    if subnet["dhcp_ip"] and not (version == 6 and subnet["ipv6_address_mode"] == "slaac"):
        return [str(ipaddress.ip_address(subnet["dhcp_ip"]))]
    return []


_FQDN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+")


def _domain(network: contract.DesiredNetwork) -> str:
    """The network's DNS domain without its trailing dot ('' when none or malformed)."""
    domain = network["dhcp"].get("dns_domain", "").lower()
    return domain.rstrip(".") if _FQDN.fullmatch(domain) else ""


def render_addn_hosts(dhcp: contract.DesiredDhcp) -> str:
    """The --addn-hosts file (``/etc/hosts`` form) the network's DNS answers from: per host
    ``address fqdn short-name`` (the fqdn first, so PTR queries answer it)."""
    lines = []
    for host in sorted(dhcp["hosts"], key=lambda h: (_ip_key(h["ip"]), h["mac"])):
        fqdn = host.get("fqdn", "").lower()
        if not _FQDN.fullmatch(fqdn):
            continue
        short = fqdn.split(".")[0]
        lines.append(f"{ipaddress.ip_address(host['ip'])} {fqdn.rstrip('.')} {short}")
    return "".join(line + "\n" for line in lines)


def _ip_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)


def render_servers(network: contract.DesiredNetwork) -> str:
    """The --servers-file (re-read on SIGHUP): the network's domain is answered here only (a
    name in it that is no host is NXDOMAIN), other names go to the resolvers; with none
    dnsmasq has no upstream and refuses them."""
    lines = []
    domain = _domain(network)
    if domain:
        lines.append(f"server=/{domain}/")
    for server in network["dhcp"].get("dns_resolvers", []):
        lines.append(f"server={ipaddress.ip_address(server)}")
    return "".join(line + "\n" for line in lines)


def _range(subnet: contract.DesiredSubnet) -> str:
    net = ipaddress.ip_network(subnet["cidr"], strict=False)
    if net.version == 4:
        return f"set:{_tag(subnet)},{net.network_address},static,{net.netmask},{LEASE_TIME}"
    mode = {"slaac": "ra-only", "dhcpv6-stateless": "ra-stateless"}.get(
        subnet["ipv6_address_mode"] or "", "static")
    return f"set:{_tag(subnet)},{net.network_address},{mode},{net.prefixlen},{LEASE_TIME}"


def dnsmasq_args(network: contract.DesiredNetwork, files: pathlib.Path) -> list[str]:
    """dnsmasq's command line (after the program name) for ``network``, its files in
    ``files``. It changes only when the subnets or their modes do: that is when dnsmasq is
    restarted rather than reloaded."""
    dhcp = network["dhcp"]
    _, inside = device_names(dhcp["port_id"])
    subnets = served_subnets(dhcp)
    args = [
        # DNS on port 53 of the DHCP port's addresses: the hosts file's names; never the
        # machine's /etc/hosts or resolv.conf; names without a dot are never forwarded.
        "--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--domain-needed",
        "--bind-interfaces", f"--interface={inside}", "--except-interface=lo",
        "--user=root", "--group=root", "--dhcp-authoritative",
        f"--pid-file={files / 'dnsmasq.pid'}",
        f"--dhcp-leasefile={files / 'leases'}",
        f"--dhcp-hostsfile={files / 'hosts'}",
        f"--dhcp-optsfile={files / 'opts'}",
        f"--addn-hosts={files / 'addn_hosts'}",
        f"--servers-file={files / 'servers'}",
        f"--log-facility={files / 'dnsmasq.log'}",
    ]
    args += [f"--dhcp-range={_range(subnet)}" for subnet in subnets]
    if any(s["ip_version"] == 6 and s["ipv6_address_mode"] in ("slaac", "dhcpv6-stateless")
           for s in subnets):
        # Router advertisements carry the prefix (and the stateless flag); a router lifetime
        # of 0: the DHCP port is not a router, the guests' default route comes from the
        # subnet's router.
        args += ["--enable-ra", f"--ra-param={inside},mtu:{network['mtu']},60,0"]
    return args


def _write_if_changed(path: pathlib.Path, text: str) -> bool:
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


# -- the driver -------------------------------------------------------------------------------------
class DhcpDriver:
    """DHCP + metadata for the networks of the desired document.

    ``state_dir`` is a directory the driver may own a ``dhcp/`` subdirectory of;
    ``host_netns`` is where the bridges are (None: the root namespace); ``prefix`` starts
    every namespace name it makes (``f"{host_netns}-"`` or ""), and ``purge`` removes by it.
    """

    def __init__(self, state_dir: pathlib.Path, host_netns: str | None, prefix: str,
                 api_url: str, host_token: Callable[[], str]) -> None:
        self.root = state_dir / "dhcp"
        self.host_netns = host_netns
        self.prefix = prefix
        self.proxy = metadata_proxy.MetadataProxy(api_url, host_token)
        self._applied: dict[str, tuple[str, float]] = {}  # network id → (what, when)

    # -- entry points ---------------------------------------------------------------------------
    def apply(self, networks: list[contract.DesiredNetwork],
              bridge_for: Callable[[str], str]) -> list[str]:
        """Converge to ``networks``: serve those with ``dhcp``, remove every other qdhcp
        namespace of ours. Returns what failed, one message per network; never raises."""
        errors: list[str] = []
        wanted = {net["id"]: net for net in networks if net.get("dhcp")}
        for network_id in self._ours() - set(wanted):
            try:
                self._remove(network_id)
            except (DriverError, OSError) as e:
                errors.append(f"DHCP for network {network_id}: cannot remove: {e}")
        for network_id, net in wanted.items():
            try:
                self._apply_one(net, bridge_for)
            except (DriverError, OSError, KeyError, ValueError) as e:
                self._applied.pop(network_id, None)
                errors.append(f"DHCP for network {network_id}: {e}")
        return errors

    def purge(self) -> None:
        """Remove every namespace, dnsmasq, listener and file this driver ever made."""
        for network_id in self._ours():
            with contextlib.suppress(DriverError, OSError):
                self._remove(network_id)
        self.proxy.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def close(self) -> None:
        """The agent stops: close the metadata listeners (they live in the agent process);
        dnsmasq and the namespaces stay, for the next agent to adopt."""
        self.proxy.close()

    # -- one network ----------------------------------------------------------------------------
    def _ours(self) -> set[str]:
        marker = namespace_name(self.prefix, "")
        found = {name[len(marker):] for name in namespaces.names(marker)}
        with contextlib.suppress(FileNotFoundError):
            found |= {entry.name for entry in self.root.iterdir() if entry.is_dir()}
        return found | self.proxy.serving() | set(self._applied)

    def _apply_one(self, net: contract.DesiredNetwork, bridge_for: Callable[[str], str]) -> None:
        dhcp = net["dhcp"]
        bridge = bridge_for(net["id"])
        ns = namespace_name(self.prefix, net["id"])
        files = self.root / net["id"]
        what = json.dumps([net["mtu"], bridge, dhcp], sort_keys=True)
        args = dnsmasq_args(net, files)
        last = self._applied.get(net["id"])
        if (last is not None and last[0] == what and time.monotonic() - last[1] < RESYNC_SECONDS
                and namespaces.exists(ns) and net["id"] in self.proxy.serving()
                and (not served_subnets(dhcp) or _running(files, args) is not None)):
            return
        outside, inside = device_names(dhcp["port_id"])
        namespaces.create(ns)
        if namespaces.plug_veth(self.host_netns, bridge, outside, ns, inside, dhcp["mac"],
                                net["mtu"]):
            _stop(files)  # bound to the interface that was replaced
        for stale in namespaces.link_names(ns) - {"lo", inside}:  # a replaced DHCP port's
            namespaces.delete_link(ns, stale)
        addresses = [f"{s['dhcp_ip']}/{ipaddress.ip_network(s['cidr'], strict=False).prefixlen}"
                     for s in dhcp["subnets"] if s["dhcp_ip"]]
        namespaces.set_addresses(ns, inside, [*addresses, f"{contract.METADATA_ADDRESS}/32"])
        self.proxy.serve(net["id"], ns)
        files.mkdir(parents=True, exist_ok=True, mode=0o700)
        hosts = render_hosts(dhcp)
        before = _read(files / "hosts")
        changed = _write_if_changed(files / "hosts", hosts)
        changed = _write_if_changed(files / "opts", render_opts(net)) or changed
        changed = _write_if_changed(files / "addn_hosts", render_addn_hosts(dhcp)) or changed
        changed = _write_if_changed(files / "servers", render_servers(net)) or changed
        # A port that went away keeps its lease inside dnsmasq, which then refuses its address
        # to the next port IPAM hands it to ("leased to <old mac>"): forget such leases.
        dropped = bool(host_pairs(before) - host_pairs(hosts))
        pid = _running(files, args)
        if not served_subnets(dhcp):
            _stop(files)
        elif pid is None or dropped:
            _stop(files)  # another command line (the subnets changed), or leases to forget
            prune_leases(files / "leases", host_pairs(hosts))
            _start(ns, files, args)
        elif changed:
            os.kill(pid, signal.SIGHUP)  # rereads the hosts, opts, addn_hosts, servers files
        self._applied[net["id"]] = (what, time.monotonic())

    def _remove(self, network_id: str) -> None:
        self._applied.pop(network_id, None)
        self.proxy.stop(network_id)
        files = self.root / network_id
        _stop(files)
        namespaces.delete(namespace_name(self.prefix, network_id))
        shutil.rmtree(files, ignore_errors=True)
        log.info("removed DHCP for network %s", network_id)


# -- the dnsmasq process ----------------------------------------------------------------------------
def _pid(files: pathlib.Path) -> int | None:
    """The pid in the pid file when that process is our dnsmasq for these files."""
    try:
        pid = int((files / "dnsmasq.pid").read_text().strip())
        cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    argv = cmdline.rstrip(b"\0").split(b"\0")
    if f"--pid-file={files / 'dnsmasq.pid'}".encode() not in argv:
        return None
    return pid


def _running(files: pathlib.Path, args: list[str]) -> int | None:
    """The pid of our dnsmasq when it runs with exactly ``args``."""
    pid = _pid(files)
    if pid is None:
        return None
    try:
        argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return None
    return pid if [a.decode() for a in argv[1:]] == args else None


def _start(ns: str, files: pathlib.Path, args: list[str]) -> None:
    # dnsmasq checks its configuration, binds, then daemonizes; its exit status says whether
    # that went well.
    result = subprocess.run(["ip", "netns", "exec", ns, DNSMASQ, *args],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                            check=False)
    if result.returncode != 0:
        raise DriverError(f"dnsmasq failed to start: {result.stderr.strip()}", result.returncode)
    if not namespaces.wait_for(lambda: _pid(files) is not None, timeout=5):
        raise DriverError("dnsmasq started but wrote no pid file")


def _stop(files: pathlib.Path) -> None:
    pid = _pid(files)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not namespaces.wait_for(lambda: not namespaces.alive(pid), timeout=5):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        namespaces.wait_for(lambda: not namespaces.alive(pid), timeout=5)
    with contextlib.suppress(FileNotFoundError):
        (files / "dnsmasq.pid").unlink()
