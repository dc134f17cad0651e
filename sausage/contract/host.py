"""Desired and observed state of one host, as JSON documents (version 1).

Flow: the agent registers (``Registration``) and receives its host id; then, in a loop, it GETs
``/internal/v1/hosts/{host_id}/desired?after=<revision>`` (long-poll: the API answers when the
revision is newer than ``after``, or after ~25 s with the same document; an optional
``&wait=<seconds>`` asks for that shorter wait, the agent's resync period), observes the host,
plans, acts, and POSTs an ``Observed`` report to ``/internal/v1/hosts/{host_id}/observed``
(also its heartbeat). Requests carry ``X-Sausage-Host-Token`` (the per-host credential).

Counters (``reboot_seq``, ``rebuild_seq`` …) are how one-shot operations are expressed in a
declarative document: the API bumps the counter, the agent performs the operation once when the
counter is higher than the one it last applied, and reports the applied counter back.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "VERSION", "Power", "Registration", "RegistrationReply", "ImageRef", "Snapshot",
    "DesiredServer", "Desired", "ObservedServer", "Observed", "VmState",
    "Route", "ServerNic", "DesiredSubnet", "DhcpHost", "DesiredDhcp", "DesiredNetwork",
    "SecurityRule", "AddressPair", "DesiredPort", "RouterPort", "FloatingIp", "DesiredRouter",
    "METADATA_ADDRESS", "VolumeSource", "VolumeUpload", "DesiredVolume", "ServerVolume",
    "ObservedVolume",
]

VERSION = 1

Power = Literal["running", "stopped", "paused", "suspended"]
VmState = Literal["building", "running", "stopped", "paused", "suspended", "error", "absent"]


class Registration(TypedDict):
    name: str  # host name, unique in the cloud
    vcpus: int
    memory_mb: int
    disk_gb: int
    virt_type: Literal["kvm", "tcg"]
    availability_zone: NotRequired[str]
    # The underlay address VXLAN peers send this host's tunnel traffic to.
    tunnel_ip: NotRequired[str]
    # The host has the external network's bridge: routers and DHCP servers may live here.
    network_node: NotRequired[bool]
    # The block-storage backend this host holds volumes for ("file"); absent: none.
    volume_backend: NotRequired[str]


class RegistrationReply(TypedDict):
    host_id: str
    token: str  # the per-host credential; the agent keeps it in its state dir (0600)


class ImageRef(TypedDict):
    id: str
    disk_format: str  # "qcow2" | "raw" | ...
    checksum: str | None  # md5 of the data, to verify the cached copy
    size: int | None
    url: str  # GET with X-Sausage-Host-Token streams the data (internal API)
    kernel: NotRequired["ImageRef"]  # kernel/ramdisk images (properties kernel_id/ramdisk_id)
    ramdisk: NotRequired["ImageRef"]
    cmdline: NotRequired[str]


class Snapshot(TypedDict):
    """A createImage request: write the root disk's current content to ``upload_url``."""

    seq: int
    image_id: str
    upload_url: str  # PUT application/octet-stream, qcow2, with X-Sausage-Host-Token


class ServerNic(TypedDict):
    """One virtio NIC of a server, in PCI order: a tap (named by the port) on its network's
    bridge. The agent hot-plugs NICs that appear and unplugs those that go while it runs."""

    port_id: str
    mac: str
    tap: str  # "tap" + port_id[:11]
    mtu: int  # also the virtio-net host_mtu


class DesiredServer(TypedDict):
    id: str  # instance UUID, also the SMBIOS UUID
    name: str
    hostname: str
    power: Power
    # bump → bring the VM to ``power`` once. A VM that stops by itself (crash, guest poweroff)
    # stays stopped until power_seq moves on: the API then shows it SHUTOFF, as Nova does.
    power_seq: int
    vcpus: int
    memory_mb: int
    root_gb: int  # 0: the image's virtual size
    image: ImageRef | None  # None: booted from a volume (its boot_index-0 one in ``volumes``)
    reboot_seq: int  # bump → reboot once; kind in reboot_kind
    reboot_kind: Literal["soft", "hard"]
    rebuild_seq: int  # bump → recreate the root disk from ``image`` (data lost), keep the id
    resize_seq: int  # bump → restart with the new vcpus/memory_mb/root_gb (disk grows only)
    snapshots: list[Snapshot]
    nics: NotRequired[list[ServerNic]]
    # Volumes attached to the server, in attach order (see ``ServerVolume``). A server booted
    # from a volume has ``image`` None and ``root_gb`` 0, and its boot_index-0 volume is the
    # root disk (the one ``vda``, bootindex 0).
    volumes: NotRequired[list["ServerVolume"]]


# -- networking (DESIGN.md §6) ----------------------------------------------------------------------
#
# Names on the host (Linux interface names are at most 15 characters):
#   bridge  "brq" + network_id[:11]        vxlan "vxlan-<vni>"
#   tap     "tap" + port_id[:11]           (VM NICs, and the host end of DHCP/router veths)
#   netns   "qdhcp-<network_id>", "qrouter-<router_id>", each prefixed with "<netns>-" when the
#           agent's data plane lives in a namespace (`sausage up --netns NAME`)
#   in those namespaces: "ns-" + port_id[:11] (DHCP), "qr-"/"qg-" + port_id[:11] (router).
# A network, port or router not listed in the desired document must not exist on the host.

METADATA_ADDRESS = "169.254.169.254"


class Route(TypedDict):
    destination: str  # CIDR
    nexthop: str


class DesiredSubnet(TypedDict):
    id: str
    cidr: str
    ip_version: Literal[4, 6]
    gateway_ip: str | None
    enable_dhcp: bool
    dns_nameservers: list[str]
    host_routes: list[Route]
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None
    dhcp_ip: str | None  # the DHCP port's address in this subnet (None: no DHCP here)


class DhcpHost(TypedDict):
    mac: str
    ip: str
    hostname: str  # the name DHCP gives the guest (a label)
    # The name the network's DNS answers for ``ip`` (and its first label, the short name); PTR
    # answers it. Neutron's dns_assignment fqdn, ending with a dot.
    fqdn: NotRequired[str]


class DesiredDhcp(TypedDict):
    """This host serves DHCP (dnsmasq) and metadata (169.254.169.254, pushed to guests as an
    option-121 route via the DHCP address) for the network."""

    port_id: str
    mac: str
    subnets: list[DesiredSubnet]
    hosts: list[DhcpHost]  # static leases; dnsmasq answers nobody else
    # Internal DNS on the DHCP port's addresses: the hosts' names; ``dns_domain`` (the network's,
    # else the cloud's, ending with a dot) is the domain guests are given and the names in it
    # are answered here only; other names go to ``dns_resolvers`` (the subnets' name servers,
    # else the cloud's) — none: refused, nothing is forwarded.
    dns_domain: NotRequired[str]
    dns_resolvers: NotRequired[list[str]]


class DesiredNetwork(TypedDict):
    id: str
    mtu: int
    network_type: Literal["vxlan", "flat"]
    # vxlan: the VNI. flat: None, and ``physical_network`` names the agent's bridge mapping.
    segmentation_id: int | None
    physical_network: str
    peers: list[str]  # tunnel IPs of the other hosts with ports on the network (static FDB)
    dhcp: NotRequired[DesiredDhcp]


class SecurityRule(TypedDict):
    """One allow rule; remote-group rules arrive expanded into the group members' addresses."""

    direction: Literal["ingress", "egress"]
    ethertype: Literal["IPv4", "IPv6"]
    protocol: str | None  # "tcp" | "udp" | "icmp" | "ipv6-icmp" | a number as text | None = any
    port_range_min: int | None  # ports; for icmp: type
    port_range_max: int | None  # ports; for icmp: code
    remote_ip_prefixes: list[str] | None  # None = any; [] = nobody (an empty remote group)


class AddressPair(TypedDict):
    ip_address: str  # address or CIDR
    mac_address: str


class DesiredPort(TypedDict):
    """A VM's port on this host. With ``port_security`` only its own MAC and addresses (and
    its allowed address pairs) may leave the tap, and only traffic its ``rules`` allow (plus
    replies, by conntrack) reaches it; without, everything passes."""

    id: str
    network_id: str
    server_id: str
    mac: str
    tap: str
    fixed_ips: list[str]
    port_security: bool
    allowed_address_pairs: list[AddressPair]
    rules: list[SecurityRule]


class RouterPort(TypedDict):
    port_id: str
    network_id: str
    mac: str
    addresses: list[str]  # CIDR form, e.g. "10.0.0.1/24"


class FloatingIp(TypedDict):
    floating_ip: str
    fixed_ip: str


class DesiredRouter(TypedDict):
    id: str
    gateway: RouterPort | None  # the qg- port on the external network
    gateway_ip: str | None  # the external subnet's gateway: the router's default route
    enable_snat: bool
    interfaces: list[RouterPort]  # qr- ports
    routes: list[Route]  # extra routes
    floating_ips: list[FloatingIp]  # 1:1 DNAT/SNAT
    # False: plugged (its ports are up, as Neutron's are) but forwarding nothing.
    admin_state_up: NotRequired[bool]


# -- block storage (DESIGN.md §7) --------------------------------------------------------------
#
# Volumes live on the host whose agent holds their backend (``Registration.volume_backend``).
# The `file` backend keeps ``<state>/volumes/volume-<id>.qcow2`` and
# ``<state>/volumes/snapshot-<id>.qcow2``. A volume or snapshot not listed in the desired
# document must not exist on the host; one listed is made once from its source, then only grown.
# A server's volumes are hot-plugged as ``blockdev-add`` node "vn" + id.hex[:20] and a
# ``virtio-blk-pci`` device "vol-<volume id>" with serial = volume id[:20] (what the guest sees as
# /dev/disk/by-id/virtio-<serial>), the same ids at boot and at hotplug.


class VolumeSource(TypedDict):
    """What a new volume's bytes come from; only read when the volume does not exist yet."""

    type: Literal["blank", "image", "snapshot", "volume"]
    id: NotRequired[str]  # the snapshot or volume (on this host)
    image: NotRequired[ImageRef]  # for "image": converted to the backend's format


class VolumeUpload(TypedDict):
    """An os-volume_upload_image request: write the volume's content as ``disk_format`` to
    ``upload_url`` (PUT application/octet-stream with X-Sausage-Host-Token), once."""

    seq: int
    image_id: str
    disk_format: Literal["qcow2", "raw"]
    upload_url: str


class DesiredVolume(TypedDict):
    id: str
    backend: str  # "file"
    size_gb: int  # grow to this (never shrink); a volume in use grows live
    source: VolumeSource
    snapshots: list[str]  # ids of this volume's snapshots that must exist (copies taken once)
    uploads: list[VolumeUpload]


class ServerVolume(TypedDict):
    """One volume of a server, in the order attached (the device names follow it)."""

    volume_id: str
    backend: str  # "file": the agent finds the file itself; later "rbd" adds its pool etc.
    connection: dict[str, str]  # backend-specific; empty for "file"
    serial: str  # volume id[:20]
    read_only: bool
    boot_index: int | None  # 0: the root disk of a server booted from this volume


class Desired(TypedDict):
    version: int
    host_id: str
    revision: int
    servers: list[DesiredServer]  # servers not listed must not exist on the host
    networks: NotRequired[list[DesiredNetwork]]
    ports: NotRequired[list[DesiredPort]]
    routers: NotRequired[list[DesiredRouter]]
    volumes: NotRequired[list[DesiredVolume]]  # the volumes this host's backend holds


class ObservedServer(TypedDict):
    id: str
    state: VmState
    pid: NotRequired[int]
    vcpus: NotRequired[int]
    memory_mb: NotRequired[int]
    error: NotRequired[str]  # with state "error": what the user should read as the fault
    power_seq: int  # the last applied counters
    reboot_seq: int
    rebuild_seq: int
    resize_seq: int
    snapshots_done: list[int]  # seqs of snapshots uploaded (or failed, see snapshot_errors)
    snapshot_errors: NotRequired[dict[str, str]]  # str(seq) → message
    console_tail: NotRequired[str]  # the last 64 KiB of the serial log, when it changed
    ready: NotRequired[bool]  # the guest printed its ready marker (test image) — informational
    # The agent is acting on this server right now (actions planned or in flight): a transient
    # state, such as stopped in the middle of a hard reboot, is not news.
    busy: NotRequired[bool]
    # Volume ids QEMU has attached now (running), or would attach at its next start (stopped).
    volumes: NotRequired[list[str]]
    volume_errors: NotRequired[dict[str, str]]  # volume id → why attaching/detaching failed


class ObservedVolume(TypedDict):
    id: str
    size_gb: int  # the backing file's virtual size, rounded up
    snapshots: list[str]  # the snapshots of it that exist
    uploads_done: list[int]  # seqs of finished uploads (or failed, see upload_errors)
    upload_errors: NotRequired[dict[str, str]]  # str(seq) → message
    error: NotRequired[str]  # making or growing it failed: the volume goes to error
    snapshot_errors: NotRequired[dict[str, str]]  # snapshot id → why it could not be made


class Observed(TypedDict):
    version: int
    host_id: str
    revision_seen: int
    vcpus: int
    memory_mb: int
    disk_gb: int
    servers: list[ObservedServer]
    # Ports whose tap is on its bridge with its filter in place (Neutron's port status ACTIVE).
    ports_up: NotRequired[list[str]]
    network_errors: NotRequired[list[str]]  # what failed to apply, for the operator
    # The volumes (and snapshots) on this host's backend, listed or not in the desired state;
    # absent when the host holds no backend.
    volumes: NotRequired[list[ObservedVolume]]
