"""Policy: which context may do which action, one rule table for every service.

Services enforce it themselves, never the API layer. Actions are named as the
upstream service names them (Keystone's ``identity:get_user``, Neutron's
``create_port:mac_address``, Cinder's ``volume:extend``, Nova's
``os_compute_api:servers:create``, Glance's ``modify_image``, Designate's
``create_zone``); each service's rules live in a
module of this package, built from the shared predicates in ``rules``. ``enforce`` raises
Forbidden in the owning service's wording; ``allowed`` answers visibility questions, for which
services raise their own NotFound (another project's resource is invisible, never 403).
"""

from __future__ import annotations

from types import MappingProxyType

from sausage import errors
from sausage.services.context import Context
from sausage.services.policy import compute, dns, identity, image, network, volume
from sausage.services.policy.rules import Rule, Target, Wording, admin, rule

__all__ = ["enforce", "allowed", "RULES"]


# Every upstream service's own base rule: who sees every project's resources and the
# admin-only attributes (their database layers ask ``context.is_admin``, which is this).
_COMMON = {"context_is_admin": (rule(admin), Wording("Policy doesn't allow {action} to be "
                                                     "performed."))}


def _table() -> dict[str, tuple[Rule, Wording]]:
    out: dict[str, tuple[Rule, Wording]] = dict(_COMMON)
    for service in (identity, network, volume, compute, image, dns):
        for action, found in service.RULES.items():
            if action in out:
                raise ValueError(f"two services name the action {action}")
            out[action] = (found, service.WORDING)
    return out


RULES = MappingProxyType(_table())


def _lookup(action: str) -> tuple[Rule, Wording]:
    found = RULES.get(action)
    if found is None:
        raise KeyError(f"no policy rule for {action}")
    return found


def allowed(ctx: Context, action: str, target: Target | None = None) -> bool:
    """Whether ``ctx`` may do ``action`` on ``target`` (its attributes, e.g. ``project_id``)."""
    found, _ = _lookup(action)
    return all(check(ctx, target or {}) for check, _message in found.steps)


def enforce(ctx: Context, action: str, target: Target | None = None) -> None:
    """Raise Forbidden, in the service's wording, unless ``ctx`` may do ``action``."""
    found, wording = _lookup(action)
    attrs = target or {}
    for check, message in found.steps:
        if not check(ctx, attrs):
            text = (message or wording.template).format_map({**attrs, "action": action})
            raise errors.Forbidden(text, kind=wording.kind)
