"""Tokens: authenticate, issue, validate and revoke, without ever storing a token.

A token is a Fernet message (``cryptography``) over a small JSON payload: who, how, which scope,
when issued and when it expires, and its audit ids. Validation decrypts it with the key
repository, then re-checks everything the payload points at — the user and project still exist
and are enabled, the user still has roles there, no revocation event matches — and recomputes
roles and catalog, as Keystone's Fernet provider does. Decryption and the expiry check run on
every validation; the rest is remembered per process (validation_cache) for as long as no identity
table has been written to, as Keystone's token cache is invalidated on change.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from cryptography import fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import identity as m
from sausage.db.models.base import utcnow
from sausage.services import policy
from sausage.services.context import Context, expand_roles
from sausage.services.identity import app_creds, catalog, common, passwords, resources
from sausage.services.identity import revocation, roles
from sausage.services.identity.validation_cache import ValidationCache, detached_copy
from sausage.services.identity.fernet import KeyRepository

__all__ = ["Token", "TokenProvider", "UNAUTHORIZED"]

UNAUTHORIZED = "The request you have made requires authentication."
# How often a worker looks whether another process rotated the signing keys.
KEY_CHECK_SECONDS = 1.0


@dataclasses.dataclass(frozen=True)
class Token:
    id: str
    methods: tuple[str, ...]
    user: m.User
    user_domain: m.Domain
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    audit_ids: tuple[str, ...]
    project: m.Project | None = None
    project_domain: m.Domain | None = None
    domain: m.Domain | None = None
    roles: tuple[m.Role, ...] = ()
    catalog: tuple[dict[str, Any], ...] = ()
    application_credential: m.ApplicationCredential | None = None

    def context(self, request_id: str = "") -> Context:
        return Context(
            user_id=self.user.id,
            user_domain_id=self.user.domain_id,
            project_id=self.project.id if self.project else None,
            project_domain_id=self.project.domain_id if self.project else None,
            domain_id=self.domain.id if self.domain else None,
            roles=frozenset(r.name for r in self.roles),
            request_id=request_id,
            audit_ids=self.audit_ids,
            application_credential_id=(
                self.application_credential.id if self.application_credential else None
            ),
        )


@dataclasses.dataclass(frozen=True)
class _Payload:
    user_id: str
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None
    app_cred_id: str | None = None

    def encode(self) -> bytes:
        fields = {
            "u": self.user_id, "m": list(self.methods), "i": self.issued_at,
            "e": self.expires_at, "a": list(self.audit_ids), "p": self.project_id,
            "d": self.domain_id, "c": self.app_cred_id,
        }
        return json.dumps({k: v for k, v in fields.items() if v is not None},
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> _Payload:
        d = json.loads(raw)
        return cls(
            user_id=d["u"], methods=tuple(d["m"]), issued_at=d["i"], expires_at=d["e"],
            audit_ids=tuple(d["a"]), project_id=d.get("p"), domain_id=d.get("d"),
            app_cred_id=d.get("c"),
        )


def _audit_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def _ts(value: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)


class TokenProvider:
    """Issues and validates tokens with the keys in ``keys``; safe to share between threads."""

    def __init__(self, keys: KeyRepository, lifetime: int) -> None:
        self.keys = keys
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._version = keys.version()
        self._crypto = keys.load()
        self._checked = time.monotonic()
        self.cache = ValidationCache()

    def reload_keys(self) -> None:
        version = self.keys.version()
        crypto = self.keys.load()
        with self._lock:
            self._crypto, self._version = crypto, version

    def _current(self, force: bool = False) -> fernet.MultiFernet:
        """The keys, reloaded when another process rotated them: looked at once a second, or
        at once (``force``) when a token did not decrypt with the keys held."""
        now = time.monotonic()
        if force or now - self._checked >= KEY_CHECK_SECONDS:
            self._checked = now
            if self.keys.version() != self._version:
                self.reload_keys()
        with self._lock:
            return self._crypto

    # --- issuing -------------------------------------------------------------------------------

    def issue(self, s: Session, auth: Mapping[str, Any], nocatalog: bool = False) -> Token:
        """Authenticate an ``auth`` body (Keystone's POST /v3/auth/tokens) and issue a token.

        Raises BadRequest for a malformed body, Unauthorized when the identity is not proven or
        the scope is not allowed, NotFound never (scope targets that do not exist are 401 too).
        """
        identity = auth.get("identity")
        if not isinstance(identity, dict):
            raise errors.BadRequest("Invalid input for field 'identity': it is a required object.")
        methods = identity.get("methods")
        if not isinstance(methods, list) or not methods or not all(
            isinstance(x, str) for x in methods
        ):
            raise errors.BadRequest("Invalid input for field 'identity/methods': a non-empty list.")
        for method in methods:
            if method not in ("password", "token", "application_credential"):
                raise errors.Unauthorized(f"Attempted to authenticate with an unsupported method.")
        now = utcnow().timestamp()
        expires = now + self.lifetime
        audit_ids: tuple[str, ...] = (_audit_id(),)
        cred: m.ApplicationCredential | None = None
        scope = auth.get("scope")

        if "application_credential" in methods:
            ref = identity.get("application_credential")
            if not isinstance(ref, dict):
                raise errors.BadRequest("Invalid input for field 'application_credential'.")
            cred = app_creds.authenticate(s, ref)
            user = common.get(s, m.User, cred.user_id, "user")
            if cred.expires_at is not None:
                expires = min(expires, cred.expires_at.timestamp())
            if scope:
                raise errors.Unauthorized(
                    "Application credentials cannot request a scope; they are bound to a project."
                )
            scope = {"project": {"id": cred.project_id}}
        elif "password" in methods:
            ref = identity.get("password")
            if not isinstance(ref, dict) or not isinstance(ref.get("user"), dict):
                raise errors.BadRequest("Invalid input for field 'password/user'.")
            user_ref = ref["user"]
            password = user_ref.get("password")
            if not isinstance(password, str):
                raise errors.BadRequest("Invalid input for field 'password/user/password'.")
            user = resources.find_user(s, user_ref)
            if not passwords.verify_secret(user.password_hash, password):
                raise errors.Unauthorized(UNAUTHORIZED)
        else:
            ref = identity.get("token")
            if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
                raise errors.BadRequest("Invalid input for field 'token/id'.")
            parent = self.validate(s, ref["id"], unauthorized=True)
            if parent.application_credential is not None:
                raise errors.Forbidden("A token from an application credential cannot be rescoped.")
            user = parent.user
            # Keystone records every method the chain of tokens was proven with.
            methods = list(dict.fromkeys([*parent.methods, *methods]))
            expires = parent.expires_at.timestamp()
            audit_ids = (audit_ids[0], parent.audit_ids[-1])
            if not scope and parent.project is not None:
                scope = {"project": {"id": parent.project.id}}

        self._check_user(s, user)
        project_id, domain_id = self._resolve_scope(s, user, scope)
        payload = _Payload(
            user_id=user.id, methods=tuple(methods), issued_at=now, expires_at=expires,
            audit_ids=audit_ids, project_id=project_id, domain_id=domain_id,
            app_cred_id=cred.id if cred else None,
        )
        token_id = self._current().encrypt(payload.encode()).decode()
        return self._build(s, token_id, payload, nocatalog)

    def _check_user(self, s: Session, user: m.User) -> m.Domain:
        """The user's domain; Unauthorized when the user or the domain is disabled."""
        domain = s.get(m.Domain, user.domain_id)
        if not user.enabled or domain is None or not domain.enabled:
            raise errors.Unauthorized(UNAUTHORIZED)
        return domain

    def _resolve_scope(
        self, s: Session, user: m.User, scope: Any
    ) -> tuple[str | None, str | None]:
        if scope in (None, {}, "unscoped"):
            # Keystone scopes a token that asks for no scope to the user's default project.
            if user.default_project_id and roles.effective_roles(
                s, user.id, project_id=user.default_project_id
            ):
                project = s.get(m.Project, user.default_project_id)
                if project is not None and project.enabled:
                    return project.id, None
            return None, None
        if not isinstance(scope, dict):
            raise errors.BadRequest("Invalid input for field 'scope'.")
        if "project" in scope:
            ref = scope["project"]
            if not isinstance(ref, dict):
                raise errors.BadRequest("Invalid input for field 'scope/project'.")
            project = self._find_project(s, ref)
            domain = s.get(m.Domain, project.domain_id)
            if not project.enabled or domain is None or not domain.enabled:
                raise errors.Unauthorized(f"Project {project.id} is disabled.")
            if not roles.effective_roles(s, user.id, project_id=project.id):
                raise errors.Unauthorized(f"User {user.id} has no access to project {project.id}.")
            return project.id, None
        if "domain" in scope:
            ref = scope["domain"]
            if not isinstance(ref, dict):
                raise errors.BadRequest("Invalid input for field 'scope/domain'.")
            try:
                domain = resources.find_domain(s, id_=ref.get("id"), name=ref.get("name"))
            except errors.NotFound as e:
                raise errors.Unauthorized(e.message) from e
            if not domain.enabled:
                raise errors.Unauthorized(f"Domain {domain.id} is disabled.")
            if not roles.effective_roles(s, user.id, domain_id=domain.id):
                raise errors.Unauthorized(f"User {user.id} has no access to domain {domain.id}.")
            return None, domain.id
        if "system" in scope:
            raise errors.Unauthorized("System-scoped tokens are not supported by this cloud.")
        raise errors.BadRequest("Invalid input for field 'scope': name a project or a domain.")

    def _find_project(self, s: Session, ref: Mapping[str, Any]) -> m.Project:
        if ref.get("id"):
            project = s.get(m.Project, ref["id"])
        elif ref.get("name"):
            domain_ref = ref.get("domain")
            if not isinstance(domain_ref, dict):
                raise errors.BadRequest("A project named by name needs its domain (id or name).")
            try:
                domain = resources.find_domain(s, id_=domain_ref.get("id"), name=domain_ref.get("name"))
            except errors.NotFound as e:
                raise errors.Unauthorized(e.message) from e
            project = s.scalars(
                select(m.Project).where(m.Project.domain_id == domain.id, m.Project.name == ref["name"])
            ).first()
        else:
            raise errors.BadRequest("A project is named by its id, or its name and domain.")
        if project is None:
            raise errors.Unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.")
        return project

    # --- validating ----------------------------------------------------------------------------

    def validate(self, s: Session, token_id: str, unauthorized: bool = False,
                 nocatalog: bool = False) -> Token:
        """The live token behind ``token_id``.

        Raises NotFound (a subject token) or, with ``unauthorized``, Unauthorized (the caller's
        own token) when it is malformed, expired, revoked, or what it names is gone or disabled.
        """
        error: type[errors.SausageError] = errors.Unauthorized if unauthorized else errors.NotFound
        message = UNAUTHORIZED if unauthorized else "Could not find token."
        try:
            try:
                raw = self._current().decrypt(token_id.encode())
            except fernet.InvalidToken:
                raw = self._current(force=True).decrypt(token_id.encode())
            payload = _Payload.decode(raw)
        except (fernet.InvalidToken, ValueError, KeyError, TypeError) as e:
            raise error(message) from e
        now = utcnow()
        if payload.expires_at <= now.timestamp():
            raise error(message)
        key, generation = (token_id, nocatalog), self.cache.generation(s)
        token = self.cache.get(key, generation)
        if not isinstance(token, Token):
            if revocation.is_revoked(
                s, audit_ids=payload.audit_ids, user_id=payload.user_id,
                project_id=payload.project_id, issued_at=_ts(payload.issued_at),
            ):
                raise error(message)
            try:
                token = _detached(self._build(s, token_id, payload, nocatalog))
            except (errors.Unauthorized, errors.NotFound) as e:
                raise error(message) from e
            self.cache.put(key, generation, token)
        cred = token.application_credential
        if cred is not None and cred.expires_at is not None and cred.expires_at <= now:
            raise error(message)
        return token

    def _build(self, s: Session, token_id: str, p: _Payload, nocatalog: bool) -> Token:
        user = s.get(m.User, p.user_id)
        if user is None:
            raise errors.Unauthorized(UNAUTHORIZED)
        user_domain = self._check_user(s, user)
        project = project_domain = domain = None
        cred = None
        held: list[m.Role] = []
        if p.project_id is not None:
            project = s.get(m.Project, p.project_id)
            if project is None or not project.enabled:
                raise errors.Unauthorized(UNAUTHORIZED)
            project_domain = s.get(m.Domain, project.domain_id)
            if project_domain is None or not project_domain.enabled:
                raise errors.Unauthorized(UNAUTHORIZED)
            held = roles.effective_roles(s, user.id, project_id=project.id)
        elif p.domain_id is not None:
            domain = s.get(m.Domain, p.domain_id)
            if domain is None or not domain.enabled:
                raise errors.Unauthorized(UNAUTHORIZED)
            held = roles.effective_roles(s, user.id, domain_id=domain.id)
        if p.app_cred_id is not None:
            cred = s.get(m.ApplicationCredential, p.app_cred_id)
            if cred is None:
                raise errors.Unauthorized(UNAUTHORIZED)
            held = [r for r in held if r.id in set(cred.role_ids)]
        if (project or domain) and not held:
            raise errors.Unauthorized(UNAUTHORIZED)
        return Token(
            id=token_id, methods=p.methods, user=user, user_domain=user_domain,
            issued_at=_ts(p.issued_at), expires_at=_ts(p.expires_at), audit_ids=p.audit_ids,
            project=project, project_domain=project_domain, domain=domain,
            roles=tuple(_with_implied(s, held)),
            catalog=tuple(catalog.build_catalog(s, project.id if project else None)) if (project or domain) and not nocatalog else (),
            application_credential=cred,
        )

    # --- revoking ------------------------------------------------------------------------------

    def revoke(self, s: Session, ctx: Context, token_id: str) -> None:
        token = self.validate(s, token_id)
        policy.enforce(ctx, "identity:revoke_token", {"user_id": token.user.id})
        revocation.revoke(s, audit_id=token.audit_ids[0])

    def check(self, s: Session, ctx: Context, token_id: str, nocatalog: bool = False) -> Token:
        token = self.validate(s, token_id, nocatalog=nocatalog)
        policy.enforce(ctx, "identity:validate_token", {"user_id": token.user.id})
        return token


def _detached(t: Token) -> Token:
    """``t`` with every row replaced by a copy in no session: safe to keep and share."""
    def copy(row: Any) -> Any:
        return None if row is None else detached_copy(row)
    return dataclasses.replace(
        t, user=detached_copy(t.user), user_domain=detached_copy(t.user_domain),
        project=copy(t.project), project_domain=copy(t.project_domain), domain=copy(t.domain),
        roles=tuple(detached_copy(r) for r in t.roles),
        application_credential=copy(t.application_credential),
    )


def _with_implied(s: Session, held: list[m.Role]) -> list[m.Role]:
    """Held roles plus the ones they imply (admin → member → reader), each once."""
    out = {r.name: r for r in held}
    wanted = expand_roles(frozenset(out)) - out.keys()
    if wanted:  # one query for all of them: this runs on every token validation
        for row in s.scalars(select(m.Role).where(m.Role.name.in_(sorted(wanted)))):
            out.setdefault(row.name, row)
    return sorted(out.values(), key=lambda r: r.name)
