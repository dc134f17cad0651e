"""IPAM under concurrency: threads creating ports on one subnet at the same moment never get
the same address, and the pool is used up exactly (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sausage import errors
from sausage.db.models import network as nm
from sausage.services.network import ports
from tests.api.conftest import Api
from tests.api.test_network_core import make


def test_concurrent_ports_never_share_an_address(api: Api) -> None:
    _, project, member = api.user_in_project()
    net = make(api, member, "network")
    make(api, member, "subnet", network_id=net["id"], ip_version=4,
               cidr="10.50.0.0/27", enable_dhcp=False)  # 29 assignable addresses
    results: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(5):
            try:
                with api.cloud.db.transaction() as s:
                    network = s.get(nm.Network, net["id"])
                    assert network is not None
                    port = ports.make_port(s, network=network, project_id=project,
                                           security_group_ids=[])
                    ips = ports.fixed_ips(s, [port.id])[port.id]
                results.extend(ip for _, ip in ips)
            except errors.Conflict as e:
                assert e.kind == "IpAddressGenerationFailure", e.message
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert len(results) == len(set(results)) == 29
    assert all(ip.startswith("10.50.0.") for ip in results)




def test_a_failed_transaction_keeps_nothing_even_when_its_first_write_was_a_savepoint(
        api: Api) -> None:
    from sqlalchemy import select

    from sausage.services.network import default_group

    try:
        with api.cloud.db.transaction() as s:
            default_group.ensure_default(s, "project-that-fails")  # a SAVEPOINT first
            raise RuntimeError("the request failed later")
    except RuntimeError:
        pass
    with api.cloud.db.transaction() as s:
        assert s.scalars(select(nm.SecurityGroup).where(
            nm.SecurityGroup.project_id == "project-that-fails")).all() == []
