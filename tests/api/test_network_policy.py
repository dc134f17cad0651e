"""Who may see and change which Neutron resources: another project's subnets, ports, pools
and quotas are invisible or refused; readers write nothing; shared networks take other
projects' ports but only their owner's subnets."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_network_core import fault, make, net_with_subnet, neutron, project_name


def test_another_projects_subnets_ports_and_pools_are_404(api: Api) -> None:
    _, _, member = api.user_in_project()
    _, _, other = api.user_in_project()
    net, sub = net_with_subnet(api, member)
    port = make(api, member, "port", network_id=net["id"])
    pool = make(api, member, "subnetpool", prefixes=["10.40.0.0/16"])
    for path, kind in ((f"/subnets/{sub['id']}", "SubnetNotFound"),
                       (f"/ports/{port['id']}", "PortNotFound"),
                       (f"/subnetpools/{pool['id']}", "SubnetPoolNotFound")):
        for method in ("GET", "DELETE"):
            r = neutron(api, method, path, other)
            assert r.status_code == 404 and fault(r) == kind, (method, path, r.text)
    r = neutron(api, "PUT", f"/subnets/{sub['id']}", other, json={"subnet": {"name": "x"}})
    assert r.status_code == 404
    assert neutron(api, "GET", "/subnets", other).json()["subnets"] == []
    assert neutron(api, "GET", "/subnetpools", other).json()["subnetpools"] == []
    assert neutron(api, "GET", f"/networks/{net['id']}/tags", other).status_code == 404


def test_readers_see_their_projects_resources_but_write_nothing(api: Api) -> None:
    _, project, member = api.user_in_project()
    _, _, reader = api.user_in_project("reader", project=project_name(api, project))
    net, sub = net_with_subnet(api, member)
    port = make(api, member, "port", network_id=net["id"])
    assert neutron(api, "GET", f"/ports/{port['id']}", reader).status_code == 200
    assert neutron(api, "GET", f"/subnets/{sub['id']}", reader).status_code == 200
    for method, path, body in (
            ("POST", "/ports", {"port": {"network_id": net["id"]}}),
            ("POST", "/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                             "cidr": "10.60.0.0/24"}}),
            ("PUT", f"/ports/{port['id']}", {"port": {"name": "x"}}),
            ("DELETE", f"/ports/{port['id']}", None),
            ("DELETE", f"/subnets/{sub['id']}", None),
            ("PUT", f"/networks/{net['id']}/tags/x", None)):
        r = neutron(api, method, path, reader, json=body)
        assert r.status_code == 403, (method, path, r.text)
    assert neutron(api, "GET", f"/quotas/{project}", reader).status_code == 200


def test_shared_networks_take_other_projects_ports_but_not_their_subnets(api: Api) -> None:
    net = make(api, api.admin, "network", shared=True)
    make(api, api.admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.61.0.0/24")
    _, _, member = api.user_in_project()
    port = make(api, member, "port", network_id=net["id"])
    assert port["fixed_ips"][0]["ip_address"].startswith("10.61.0.")
    r = neutron(api, "POST", "/subnets", member, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.62.0.0/24"}})
    assert r.status_code == 403
    r = neutron(api, "POST", "/ports", member, json={"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.61.0.50"}]}})
    assert r.status_code == 403
    r = neutron(api, "PUT", f"/networks/{net['id']}", api.admin,
                json={"network": {"shared": False}})
    assert r.status_code == 409 and fault(r) == "InvalidSharedSetting"


def test_other_projects_quotas_are_refused(api: Api) -> None:
    _, _, member = api.user_in_project()
    _, other_project, _ = api.user_in_project()
    r = neutron(api, "GET", f"/quotas/{other_project}", member)
    assert r.status_code == 403
