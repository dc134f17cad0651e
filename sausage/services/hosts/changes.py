"""The one way to tell agents that what their host runs changed.

A service that changes anything in a host's desired document (a server's wish, a port, a
subnet, a security group, a router, a floating IP, a volume) calls ``changed`` with what it
knows — the hosts themselves, or the networks concerned, or ``everywhere`` — in the transaction
that makes the change. The hosts are resolved at once (so a port about to be deleted still
names its host) and remembered on the session; when the transaction commits, each of them gets
one revision bump, in one UPDATE, on the same connection: the bump commits or rolls back with
the change it announces. Agents long-polling on their host's revision then wake and converge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from sausage.db.models import compute as cm
from sausage.db.models import network as nm

__all__ = ["changed"]

_KEY = "sausage.hosts.changed"
_LISTENING = "sausage.hosts.listening"


@dataclasses.dataclass
class Pending:
    """The hosts a transaction touched so far (by id or by name), or all of them."""

    ids: set[str] = dataclasses.field(default_factory=set)
    names: set[str] = dataclasses.field(default_factory=set)
    everywhere: bool = False


def changed(s: Session, hosts: Iterable[str | None] = (), *, names: Iterable[str] = (),
            networks: Iterable[str] = (), network_nodes: bool = False,
            everywhere: bool = False) -> None:
    """Mark hosts changed: by id (``hosts``; None is skipped), by name (``names``), those
    serving ``networks`` (the network nodes, which run DHCP and routers, and hosts with ports
    on them), the network nodes alone (``network_nodes``: a router), or every host
    (``everywhere``, for changes whose reach is cheaper to resync than to compute)."""
    mark = _pending(s)
    if everywhere:
        mark.everywhere = True
    if mark.everywhere:
        return
    mark.ids.update(h for h in hosts if h)
    mark.names.update(n for n in names if n)
    if network_nodes:
        mark.ids.update(s.scalars(select(cm.Host.id).where(cm.Host.network_node.is_(True))))
    nets = sorted(set(networks))
    if nets:
        bound = select(cm.Host.id).join(nm.Port, nm.Port.binding_host_id == cm.Host.name).where(
            nm.Port.network_id.in_(nets))
        mark.ids.update(s.scalars(select(cm.Host.id).where(
            or_(cm.Host.network_node.is_(True), cm.Host.id.in_(bound)))))


def _pending(s: Session) -> Pending:
    """What this session's transaction has marked so far (made on the first mark)."""
    mark: Pending | None = s.info.get(_KEY)
    if mark is None:
        mark = s.info[_KEY] = Pending()
        if not s.info.get(_LISTENING):
            s.info[_LISTENING] = True
            event.listen(s, "before_commit", _bump)
            event.listen(s, "after_rollback", _forget)
    return mark


def _bump(s: Session) -> None:
    mark: Pending | None = s.info.pop(_KEY, None)
    if mark is None:
        return
    stmt = update(cm.Host).values(revision=cm.Host.revision + 1)
    if not mark.everywhere:
        if not mark.ids and not mark.names:
            return
        stmt = stmt.where(or_(cm.Host.id.in_(sorted(mark.ids)),
                              cm.Host.name.in_(sorted(mark.names))))
    s.execute(stmt.execution_options(synchronize_session=False))


def _forget(s: Session) -> None:
    s.info.pop(_KEY, None)
