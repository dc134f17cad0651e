"""What each write endpoint accepts: one or more valid example bodies per (method, route pattern),
the seeds the fuzzer mutates. A ``Ref`` stands for an existing resource (filled in from what the
cloud holds when the request is drawn), a ``Unique`` for a fresh name so creates do not collide.

Endpoints that take no body are listed in ``BODILESS``; ``test_fuzz`` checks that every POST, PUT
and PATCH route of the app is in one or the other, so a new endpoint arrives here with its
example.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Ref", "Unique", "EXAMPLES", "BODILESS", "CONTENT_TYPE", "FILTERS"]


@dataclasses.dataclass(frozen=True)
class Ref:
    """An existing resource of ``collection`` in ``service``: its ``field`` (``id`` by default),
    taken from the one named ``name`` when given."""
    service: str
    collection: str
    field: str = "id"
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Unique:
    """A name no other request used: ``<prefix>-<n>``."""
    prefix: str


NET = Ref("network", "networks")
PUBLIC = Ref("network", "networks", name="public")
SUBNET = Ref("network", "subnets")
PORT = Ref("network", "ports")
SG = Ref("network", "security-groups")
ROUTER = Ref("network", "routers")
FIP = Ref("network", "floatingips", "floating_ip_address")
IMAGE = Ref("image", "images")
FLAVOR = Ref("compute", "flavors")
SERVER = Ref("compute", "servers")
VOLUME = Ref("volume", "volumes")
SNAPSHOT = Ref("volume", "snapshots")
VTYPE = Ref("volume", "types", "name")
PROJECT = Ref("identity", "projects")
USER = Ref("identity", "users")
ROLE = Ref("identity", "roles")
DOMAIN = Ref("identity", "domains")
SERVICE = Ref("identity", "services")
REGION = Ref("identity", "regions")
TRANSFER = Ref("dns", "transfer_requests")

I, C, N, G, V = "/identity/v3", "/compute/v2.1", "/network/v2.0", "/image/v2", "/volume/v3/{project_id}"
D = "/dns/v2"

EXAMPLES: dict[str, list[Any]] = {
    # Identity
    f"POST {I}/auth/tokens": [
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "fuzz-target", "domain": {"name": "Default"}, "password": "target-pw"}}},
            "scope": {"project": {"name": "fuzz-target", "domain": {"id": "default"}}}}},
        {"auth": {"identity": {"methods": ["token"], "token": {"id": "not-a-token"}}}},
        {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
            "id": "00000000000000000000000000000000", "secret": "s"}}}},
    ],
    f"POST {I}/domains": [{"domain": {"name": Unique("dom"), "description": "d", "enabled": True}}],
    f"PATCH {I}/domains/{{id}}": [{"domain": {"description": "d2", "enabled": True}}],
    f"POST {I}/projects": [{"project": {"name": Unique("proj"), "domain_id": "default",
                                        "description": "p", "tags": ["a"]}}],
    f"PATCH {I}/projects/{{id}}": [{"project": {"description": "p2", "tags": ["b"]}}],
    f"POST {I}/users": [{"user": {"name": Unique("user"), "password": "pw",
                                  "default_project_id": PROJECT, "email": "a@b.c"}}],
    f"PATCH {I}/users/{{id}}": [{"user": {"description": "u2", "email": "x@y.z"}}],
    f"POST {I}/users/{{id}}/password": [{"user": {"original_password": "target-pw",
                                                  "password": "target-pw"}}],
    f"POST {I}/groups": [{"group": {"name": Unique("group"), "description": "g"}}],
    f"PATCH {I}/groups/{{id}}": [{"group": {"description": "g2"}}],
    f"POST {I}/roles": [{"role": {"name": Unique("role"), "description": "r"}}],
    f"PATCH {I}/roles/{{id}}": [{"role": {"description": "r2"}}],
    f"POST {I}/regions": [{"region": {"id": Unique("region"), "description": "r",
                                      "parent_region_id": REGION}}],
    f"PATCH {I}/regions/{{id}}": [{"region": {"description": "r2"}}],
    f"POST {I}/services": [{"service": {"type": Unique("svc"), "name": "s", "enabled": True}}],
    f"PATCH {I}/services/{{id}}": [{"service": {"description": "s2"}}],
    f"POST {I}/endpoints": [{"endpoint": {"service_id": SERVICE, "interface": "public",
                                          "url": "http://127.0.0.1:1/x", "region_id": REGION}}],
    f"PATCH {I}/endpoints/{{id}}": [{"endpoint": {"url": "http://127.0.0.1:2/y"}}],
    f"POST {I}/users/{{user_id}}/application_credentials": [
        {"application_credential": {"name": Unique("appcred"), "description": "a",
                                    "expires_at": "2999-01-01T00:00:00Z", "roles": [{"name": "member"}]}}],
    # Compute
    f"POST {C}/flavors": [{"flavor": {"name": Unique("flavor"), "ram": 64, "vcpus": 1, "disk": 1,
                                      "rxtx_factor": 1.0, "os-flavor-access:is_public": False}}],
    f"POST {C}/flavors/{{id}}/os-extra_specs": [{"extra_specs": {"hw:cpu_policy": "shared"}}],
    f"PUT {C}/flavors/{{id}}/os-extra_specs/{{key}}": [{"hw:cpu_policy": "dedicated"}],
    f"POST {C}/flavors/{{id}}/action": [{"addTenantAccess": {"tenant": PROJECT}},
                                         {"removeTenantAccess": {"tenant": PROJECT}}],
    f"POST {C}/images/{{id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {C}/images/{{id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {C}/images/{{id}}/metadata/{{key}}": [{"meta": {"k": "v"}}],
    f"POST {C}/os-keypairs": [{"keypair": {"name": Unique("key")}},
                              {"keypair": {"name": Unique("key"), "public_key":
                                           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxLlbXmWS6"
                                           "zBKgPB2NRh8MGoH2V9B0e4+fIlFO8EhKB fuzz"}}],
    f"POST {C}/servers": [{"server": {"name": Unique("server"), "flavorRef": FLAVOR,
                                      "imageRef": IMAGE, "networks": [{"uuid": NET}],
                                      "metadata": {"a": "b"}, "security_groups": [{"name": "default"}],
                                      "min_count": 1, "user_data": "aGk="}}],
    f"PUT {C}/servers/{{id}}": [{"server": {"name": "renamed", "description": "d"}}],
    f"POST {C}/servers/{{id}}/action": [
        {"os-stop": None}, {"os-start": None}, {"pause": None}, {"unpause": None},
        {"suspend": None}, {"resume": None}, {"lock": {"locked_reason": "r"}}, {"unlock": None},
        {"reboot": {"type": "SOFT"}}, {"rebuild": {"imageRef": IMAGE, "name": "rebuilt"}},
        {"resize": {"flavorRef": FLAVOR}}, {"confirmResize": None}, {"revertResize": None},
        {"createImage": {"name": Unique("snap"), "metadata": {"a": "b"}}},
        {"os-getConsoleOutput": {"length": 10}}, {"forceDelete": None},
        {"addFloatingIp": {"address": FIP}}, {"removeFloatingIp": {"address": FIP}},
        {"addSecurityGroup": {"name": "default"}}, {"removeSecurityGroup": {"name": "default"}},
    ],
    f"POST {C}/servers/{{id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {C}/servers/{{id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {C}/servers/{{id}}/metadata/{{key}}": [{"meta": {"k": "v"}}],
    f"PUT {C}/servers/{{id}}/tags": [{"tags": ["a", "b"]}],
    f"POST {C}/servers/{{id}}/os-interface": [{"interfaceAttachment": {"net_id": NET}},
                                              {"interfaceAttachment": {"port_id": PORT}}],
    f"PUT {C}/os-quota-sets/{{project_id}}": [{"quota_set": {"instances": 20, "cores": 40,
                                                             "ram": 51200}}],
    f"PUT {C}/os-services/{{action}}": [{"host": "h", "binary": "nova-compute",
                                         "disabled_reason": "r"}],
    f"POST {C}/os-server-groups": [{"server_group": {"name": Unique("group"),
                                                     "policies": ["anti-affinity"]}}],
    f"POST {C}/servers/{{id}}/os-volume_attachments": [{"volumeAttachment": {"volumeId": VOLUME}}],
    f"PUT {C}/servers/{{id}}/os-volume_attachments/{{volume_id}}": [
        {"volumeAttachment": {"volumeId": VOLUME}}],
    # Network
    f"POST {N}/networks": [{"network": {"name": Unique("net"), "admin_state_up": True,
                                        "mtu": 1400, "port_security_enabled": True}}],
    f"PUT {N}/networks/{{network_id}}": [{"network": {"name": "renamed", "description": "d"}}],
    f"POST {N}/subnets": [{"subnet": {"network_id": NET, "ip_version": 4, "cidr": "10.77.0.0/24",
                                      "name": Unique("subnet"), "gateway_ip": "10.77.0.1",
                                      "allocation_pools": [{"start": "10.77.0.10",
                                                            "end": "10.77.0.20"}],
                                      "dns_nameservers": ["10.77.0.2"],
                                      "host_routes": [{"destination": "10.78.0.0/24",
                                                       "nexthop": "10.77.0.3"}]}},
                          {"subnet": {"network_id": NET, "ip_version": 6, "cidr": "fd00:77::/64",
                                      "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}],
    f"PUT {N}/subnets/{{subnet_id}}": [{"subnet": {"name": "renamed", "enable_dhcp": False,
                                                   "dns_nameservers": []}}],
    f"POST {N}/subnetpools": [{"subnetpool": {"name": Unique("pool"), "prefixes": ["10.200.0.0/16"],
                                              "default_prefixlen": 24, "min_prefixlen": 16,
                                              "max_prefixlen": 28}}],
    f"PUT {N}/subnetpools/{{pool_id}}": [{"subnetpool": {"name": "renamed",
                                                        "prefixes": ["10.200.0.0/16",
                                                                     "10.201.0.0/16"]}}],
    f"POST {N}/ports": [{"port": {"network_id": NET, "name": Unique("port"),
                                  "fixed_ips": [{"subnet_id": SUBNET}],
                                  "security_groups": [SG],
                                  "allowed_address_pairs": [{"ip_address": "10.0.0.99"}]}}],
    f"PUT {N}/ports/{{port_id}}": [{"port": {"name": "renamed", "admin_state_up": False,
                                             "device_owner": "compute:nova"}}],
    f"PUT {N}/quotas/{{project_id}}": [{"quota": {"network": 20, "port": 100, "floatingip": 10}}],
    f"POST {N}/security-groups": [{"security_group": {"name": Unique("sg"), "description": "d"}}],
    f"PUT {N}/security-groups/{{group_id}}": [{"security_group": {"name": "renamed"}}],
    f"POST {N}/security-group-rules": [{"security_group_rule": {
        "security_group_id": SG, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}}],
    f"PUT {N}/security-group-rules/{{rule_id}}": [{"security_group_rule": {"description": "d"}}],
    f"POST {N}/routers": [{"router": {"name": Unique("router"), "admin_state_up": True,
                                      "external_gateway_info": {"network_id": PUBLIC}}}],
    f"PUT {N}/routers/{{router_id}}": [{"router": {"name": "renamed", "routes": [
        {"destination": "10.99.0.0/24", "nexthop": "10.0.0.5"}]}}],
    f"PUT {N}/routers/{{router_id}}/add_router_interface": [{"subnet_id": SUBNET},
                                                            {"port_id": PORT}],
    f"PUT {N}/routers/{{router_id}}/remove_router_interface": [{"subnet_id": SUBNET}],
    f"POST {N}/floatingips": [{"floatingip": {"floating_network_id": PUBLIC, "description": "f"}}],
    f"PUT {N}/floatingips/{{floatingip_id}}": [{"floatingip": {"port_id": PORT}},
                                               {"floatingip": {"port_id": None}}],
    f"PUT {N}/{{collection}}/{{resource_id}}/tags": [{"tags": ["a", "b"]}],
    # Image
    f"POST {G}/images": [{"name": Unique("image"), "disk_format": "raw",
                          "container_format": "bare", "visibility": "private", "tags": ["t"],
                          "min_disk": 0, "min_ram": 0, "hw_disk_bus": "virtio"}],
    f"PATCH {G}/images/{{id}}": [[{"op": "replace", "path": "/name", "value": "renamed"}],
                                 [{"op": "add", "path": "/custom", "value": "v"},
                                  {"op": "remove", "path": "/custom"}]],
    f"PATCH {G}/images/": [[{"op": "replace", "path": "/name", "value": "renamed"}]],
    f"POST {G}/images/{{id}}/members": [{"member": PROJECT}],
    f"PUT {G}/images/{{id}}/members/{{member}}": [{"status": "accepted"}],
    # Volume
    f"POST {V}/volumes": [{"volume": {"size": 1, "name": Unique("vol"), "volume_type": VTYPE,
                                      "metadata": {"a": "b"}, "description": "d"}},
                          {"volume": {"size": 1, "imageRef": IMAGE}},
                          {"volume": {"snapshot_id": SNAPSHOT}}],
    f"POST {V}/volumes/": [{"volume": {"size": 1}}],
    f"PUT {V}/volumes/": [{"volume": {"name": "x"}}],
    f"PUT {V}/volumes/{{id}}": [{"volume": {"name": "renamed", "description": "d"}}],
    f"POST {V}/volumes/{{id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {V}/volumes/{{id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {V}/volumes/{{id}}/metadata/{{key}}": [{"meta": {"k": "v"}}],
    f"POST {V}/volumes/{{id}}/action": [
        {"os-extend": {"new_size": 2}}, {"os-set_bootable": {"bootable": True}},
        {"os-update_readonly_flag": {"readonly": False}},
        {"os-volume_upload_image": {"image_name": Unique("up"), "disk_format": "raw",
                                    "container_format": "bare", "force": False}},
        {"os-reset_status": {"status": "available"}}, {"os-force_detach": {}},
        {"os-force_delete": None}, {"os-reserve": None}, {"os-unreserve": None},
        {"os-begin_detaching": None}, {"os-roll_detaching": None},
        {"os-show_image_metadata": None},
        {"os-set_image_metadata": {"metadata": {"k": "v"}}},
        {"os-unset_image_metadata": {"key": "k"}},
    ],
    f"POST {V}/snapshots": [{"snapshot": {"volume_id": VOLUME, "name": Unique("snap"),
                                          "force": True, "metadata": {"a": "b"}}}],
    f"PUT {V}/snapshots/{{snapshot_id}}": [{"snapshot": {"name": "renamed"}}],
    f"POST {V}/snapshots/{{snapshot_id}}/action": [
        {"os-reset_status": {"status": "available"}}, {"os-force_delete": {}},
        {"os-update_snapshot_status": {"status": "available", "progress": "100%"}}],
    f"POST {V}/snapshots/{{snapshot_id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {V}/snapshots/{{snapshot_id}}/metadata": [{"metadata": {"k": "v"}}],
    f"PUT {V}/snapshots/{{snapshot_id}}/metadata/{{key}}": [{"meta": {"k": "v"}}],
    f"POST {V}/types": [{"volume_type": {"name": Unique("vtype"), "description": "d",
                                         "extra_specs": {"a": "b"},
                                         "os-volume-type-access:is_public": False}}],
    f"PUT {V}/types/{{type_id}}": [{"volume_type": {"description": "d2"}}],
    f"POST {V}/types/{{type_id}}/extra_specs": [{"extra_specs": {"k": "v"}}],
    f"PUT {V}/types/{{type_id}}/extra_specs/{{key}}": [{"k": "v"}],
    f"POST {V}/types/{{type_id}}/action": [{"addProjectAccess": {"project": PROJECT}},
                                           {"removeProjectAccess": {"project": PROJECT}}],
    f"POST {V}/attachments": [{"attachment": {"volume_uuid": VOLUME, "instance_uuid": SERVER,
                                              "connector": {"host": "h", "initiator": "i"},
                                              "mode": "rw"}}],
    f"PUT {V}/attachments/{{attachment_id}}": [{"attachment": {"connector": {"host": "h"}}}],
    f"POST {V}/attachments/{{attachment_id}}/action": [{"os-complete": {}}],
    f"PUT {V}/os-quota-sets/{{target}}": [{"quota_set": {"volumes": 20, "gigabytes": 200,
                                                         "snapshots": 20}}],
    f"PUT {V}/default-types/{{target}}": [{"default_type": {"volume_type": VTYPE}}],
    # DNS
    f"POST {D}/zones": [{"name": "fuzz.example.org.", "email": "admin@example.org",
                         "ttl": 3600, "description": "z"},
                        {"name": "other.example.net.", "email": "a@example.net"}],
    f"PATCH {D}/zones/{{zone_id}}": [{"ttl": 600, "email": "b@example.org",
                                      "description": "d"}],
    f"POST {D}/zones/{{zone_id}}/recordsets": [
        {"name": "www.fuzz.example.org.", "type": "A", "records": ["192.0.2.1"], "ttl": 60},
        {"name": "fuzz.example.org.", "type": "MX", "records": ["10 mail.example.org."]},
        {"name": "txt.other.example.net.", "type": "TXT", "records": ["hello"]}],
    f"PUT {D}/zones/{{zone_id}}/recordsets/{{recordset_id}}": [
        {"records": ["192.0.2.2"], "ttl": 120, "description": "r"}, {"ttl": None}],
    f"PATCH {D}/quotas/{{project_id}}": [{"zones": 20, "zone_recordsets": 100}],
    f"POST {D}/tlds": [{"name": Unique("tld"), "description": "t"}],
    f"PATCH {D}/tlds/{{tld_id}}": [{"description": "t2"}, {"name": Unique("tld")}],
    f"POST {D}/zones/{{zone_id}}/tasks/transfer_requests": [
        {}, {"description": "d", "target_project_id": PROJECT}],
    f"PATCH {D}/zones/tasks/transfer_requests/{{transfer_request_id}}": [{"description": "d2"}],
    f"POST {D}/zones/tasks/transfer_accepts": [
        {"key": "ABCD1234", "zone_transfer_request_id": TRANSFER}],
    f"PATCH {D}/reverse/floatingips/{{fip_key}}": [
        {"ptrdname": "fuzz.example.org.", "description": "p", "ttl": 300}, {"ptrdname": None}],
}

# Writes that take no body (or ignore it): the fuzzer still sends hostile ones.
BODILESS = {
    f"PUT {I}/groups/{{id}}/users/{{user_id}}",
    *(f"PUT {I}/{t}/{{target_id}}/{a}/{{actor_id}}/roles/{{role_id}}"
      for t in ("projects", "domains") for a in ("users", "groups")),
    f"PUT {C}/servers/{{id}}/tags/{{tag}}",
    f"PUT {N}/{{collection}}/{{resource_id}}/tags/{{tag}}",
    f"PUT {G}/images/{{id}}/tags/{{tag}}",
    f"POST {G}/images/{{id}}/actions/deactivate",
    f"POST {G}/images/{{id}}/actions/reactivate",
    f"PUT {G}/images/{{id}}/file",
}

# Request bodies that are not JSON by upstream's contract.
CONTENT_TYPE = {
    f"PATCH {G}/images/{{id}}": "application/openstack-images-v2.1-json-patch",
    f"PATCH {G}/images/": "application/openstack-images-v2.1-json-patch",
    f"PUT {G}/images/{{id}}/file": "application/octet-stream",
}

# Filter keys each collection documents, on top of the generic ones in ``hostile.QUERY_KEYS``.
FILTERS: dict[str, list[str]] = {
    "networks": ["router:external", "shared", "mtu", "provider:network_type", "status"],
    "subnets": ["cidr", "gateway_ip", "enable_dhcp", "subnetpool_id", "ipv6_ra_mode"],
    "ports": ["mac_address", "device_owner", "fixed_ips", "binding:host_id"],
    "servers": ["image", "flavor", "changes-since", "ip", "ip6", "locked", "tags", "not-tags",
                "reservation_id", "host", "deleted", "sort_key"],
    "images": ["visibility", "member_status", "os_hidden", "size_min", "size_max", "checksum",
               "container_format", "protected", "tag"],
    "volumes": ["metadata", "glance_metadata", "bootable", "with_count", "offset"],
    "flavors": ["minDisk", "minRam", "is_public"],
    "zones": ["name", "email", "status", "ttl", "description", "type", "sort_key", "sort_dir",
              "marker", "limit"],
    "recordsets": ["name", "type", "ttl", "data", "status", "description", "sort_key",
                   "sort_dir", "marker", "limit"],
    "role_assignments": ["user.id", "group.id", "role.id", "scope.project.id",
                         "scope.domain.id", "effective", "include_names", "include_subtree"],
}
