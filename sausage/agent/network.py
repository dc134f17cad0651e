"""The agent's network reconciler: desired networks/ports/routers → the host's data plane.

Called by the agent loop (``sausage.agent.loop``) once per iteration with the desired document,
before the servers are acted on (a VM's taps must exist, on their bridge, before it boots), and
by ``sausage down --purge``. One pass: observe the links (``drivers/netlink.py``), plan
(``plan/network.py``), apply, replace the nft table (``drivers/nft.py``) in one transaction,
then hand the networks and routers to the DHCP and router drivers, and work out which ports
are up. Cheap when nothing changed: the network part of the document is compared with the one
last applied, and the host is only looked at again every ``FULL_CHECK`` seconds (or at once
after a failure); in between, a change is planned against the links as the last pass left
them (``plan.simulate``) rather than a fresh dump of every link.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib
import shutil
import time
from collections.abc import Callable

from sausage.agent import config as agent_config
from sausage.agent.drivers import dhcp, netlink, nft, router
from sausage.agent.drivers.errors import DriverError
from sausage.agent.plan import network as plan
from sausage.contract import host as contract

__all__ = ["Result", "NetworkReconciler", "FULL_CHECK"]

log = logging.getLogger(__name__)

FULL_CHECK = 60.0  # seconds between looks at the host when the desired state did not change


@dataclasses.dataclass(frozen=True)
class Result:
    ports_up: list[str]
    errors: list[str]


class NetworkReconciler:
    def __init__(self, cfg: agent_config.AgentConfig, *,
                 host_token: Callable[[], str] = lambda: "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.settings = plan.Settings(tunnel_ip=cfg.tunnel_ip,
                                      bridge_mappings=dict(cfg.bridge_mappings),
                                      external_address=cfg.external_address)
        self.netlink = netlink.Netlink(cfg.netns)
        self.nft = nft.Nft(self.netlink)
        self.prefix = f"{cfg.netns}-" if cfg.netns else ""
        self.state_dir = pathlib.Path(cfg.state_dir) / "network"
        self.clock = clock
        self.dhcp = dhcp.DhcpDriver(self.state_dir, cfg.netns, self.prefix, cfg.api_url,
                                    host_token)
        self.router = router.RouterDriver(self.state_dir, cfg.netns, self.prefix)
        self._key: str | None = None
        self._checked_at = float("-inf")
        self._result = Result([], [])
        self._prepared = False
        self._table = True  # a table of ours may be left from an earlier run: remove it once
        self._filtered: frozenset[str] = frozenset()
        self._links: list[plan.Link] | None = None  # as the last pass left them
        self.last = Result([], [])  # what the loop's last pass found, for its report

    def reconcile(self, desired: contract.Desired, *, force: bool = False) -> Result:
        """Make the data plane match ``desired``; returns the ports up and what failed.
        Never raises for a host problem: it is in ``errors``."""
        networks = desired.get("networks", [])
        ports = desired.get("ports", [])
        routers = desired.get("routers", [])
        key = json.dumps([networks, ports, routers], sort_keys=True)
        now = self.clock()
        if (not force and key == self._key and not self._result.errors
                and now - self._checked_at < FULL_CHECK):
            return self._result
        full = force or bool(self._result.errors) or now - self._checked_at >= FULL_CHECK
        try:
            result = self._reconcile(networks, ports, routers, full)
        except DriverError as e:
            log.error("network: %s", e.message)
            result = Result([], [e.message])
            self._links = None
        if result.errors and result.errors != self._result.errors:
            log.warning("network: %s", "; ".join(result.errors))
        self._key, self._result = key, result
        if full:
            self._checked_at = now
        self.last = result
        return result

    def report(self, observed: contract.Observed) -> None:
        """The report's ``ports_up`` and ``network_errors``: what the last pass found."""
        observed["ports_up"] = self.last.ports_up
        observed["network_errors"] = [*self.last.errors]

    def reported(self, accepted: bool) -> None:
        """Nothing here waits for the API's answer."""

    def busy(self) -> bool:
        """Never: a pass does its work before it returns."""
        return False

    def _reconcile(self, networks: list[contract.DesiredNetwork],
                   ports: list[contract.DesiredPort],
                   routers: list[contract.DesiredRouter], full: bool) -> Result:
        if not self._prepared and (networks or ports):
            # Deliberately, and only once there is something to filter (see netlink.py).
            self.netlink.set_sysctls(netlink.BRIDGE_NF_SYSCTLS[self.nft.native_ct()])
            self._prepared = True
        links = self.netlink.links() if full or self._links is None else self._links
        wiring = plan.plan(networks, ports, links, self.settings)
        errors = list(wiring.errors)
        if wiring.actions:
            log.info("network: %d link changes", len(wiring.actions))
            failed = self.netlink.execute_all(wiring.actions)
            errors += failed
            links = self.netlink.links() if failed else plan.simulate(links, wiring.actions)
        self._links = links
        # Zones for tenant bridges only: the flat ones carry the host's own traffic too.
        tenant = sorted({wiring.bridges[n["id"]] for n in networks
                         if n["network_type"] == "vxlan" and n["id"] in wiring.bridges})
        errors += self._filter(ports, tenant)

        def bridge_for(network_id: str) -> str:
            return wiring.bridges.get(network_id, plan.bridge_name(network_id))

        up = plan.ports_up(ports, wiring.bridges, links, self._filtered)
        try:
            failed = self.dhcp.apply(networks, bridge_for)
        except DriverError as e:  # it should not raise; a host oddity still must not stop us
            failed = [f"DHCP: {e.message}"]
        errors += failed
        # The DHCP and router ports are up when their driver applied the document cleanly
        # (Neutron's agents report them the same way; Tempest waits for router ports ACTIVE).
        if not failed:
            up += [n["dhcp"]["port_id"] for n in networks if "dhcp" in n]
        try:
            failed = self.router.apply(routers, bridge_for)
        except DriverError as e:
            failed = [f"router: {e.message}"]
        errors += failed
        if not failed:
            up += [p["port_id"] for r in routers
                   for p in ([r["gateway"]] if r["gateway"] else []) + r["interfaces"]]
        return Result(up, errors)

    def _filter(self, ports: list[contract.DesiredPort], bridges: list[str]) -> list[str]:
        """One nft transaction: the table for the ports, or no table when there are none."""
        try:
            if ports:
                ruleset = nft.build(ports, self.nft.native_ct(), bridges)
                self.nft.apply(ruleset)
                self._filtered, self._table = ruleset.taps, True
            elif self._table:
                self.nft.delete()
                self._filtered, self._table = frozenset(), False
        except DriverError as e:
            self._filtered = frozenset()
            return [e.message]
        return []

    def purge(self) -> None:
        """Remove every piece of data plane this agent made: DHCP servers and routers (their
        namespaces), the nft tables, our links and the mapped bridges, the state files."""
        self.dhcp.purge()
        self.router.purge()
        self.nft.delete()
        gone = self.netlink.purge(frozenset(self.settings.bridge_mappings.values()))
        if gone:
            log.info("network: removed %s", ", ".join(gone))
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self._key, self._table, self._filtered, self._links = None, False, frozenset(), None

    def close(self) -> None:
        self.netlink.close()
