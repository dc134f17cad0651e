"""Keypairs: a user's SSH (or x509) public keys, imported or generated (the private key is shown
once and never stored)."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.services import policy
from sausage.services.compute import paging, quotas
from sausage.services.context import Context

__all__ = ["list_keypairs", "get", "create", "delete", "fingerprint", "numeric_id"]

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ .@")


def numeric_id(row: m.KeyPair) -> int:
    """Nova shows an integer id; ours is stable and derived from the (user, name) key."""
    return zlib.crc32(f"{row.user_id}/{row.name}".encode()) & 0x7FFFFFFF


def fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key, colon-separated, as Nova shows it.

    Raises BadRequest when the key is not an OpenSSH public key.
    """
    parts = public_key.strip().split()
    try:
        if len(parts) < 2:
            raise ValueError("too few fields")
        serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
        blob = base64.b64decode(parts[1], validate=True)
    except (ValueError, TypeError, base64.binascii.Error) as e:  # type: ignore[attr-defined]
        raise errors.BadRequest("Keypair data is invalid: failed to generate fingerprint") from e
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _user(ctx: Context, user_id: str | None) -> str:
    if user_id and user_id != ctx.user_id:
        policy.enforce(ctx, "os_compute_api:os-keypairs", {"user_id": user_id})
        return user_id
    return ctx.user_id


def list_keypairs(s: Session, ctx: Context, user_id: str | None = None,
                  filters: Mapping[str, str] | None = None) -> list[m.KeyPair]:
    owner = _user(ctx, user_id)
    query = select(m.KeyPair).where(m.KeyPair.user_id == owner).order_by(m.KeyPair.name)
    return paging.page(list(s.scalars(query)), filters or {}, lambda r: r.name)


def get(s: Session, ctx: Context, name: str, user_id: str | None = None) -> m.KeyPair:
    row = s.get(m.KeyPair, (_user(ctx, user_id), name))
    if row is None:
        raise errors.NotFound(f"Keypair {name} not found for user {_user(ctx, user_id)}")
    return row


def _generate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public + " Generated-by-Sausage"


def create(s: Session, ctx: Context, values: Mapping[str, Any], *, allow_generate: bool = True,
           ) -> tuple[m.KeyPair, str | None]:
    """Import ``public_key`` or generate a pair; returns the row and the private key (if made)."""
    policy.enforce(ctx, "os_compute_api:os-keypairs:create")
    name = values["name"]
    if not name.strip() or not set(name) <= NAME_CHARS or len(name) > 255:
        raise errors.BadRequest("Keypair data is invalid: Keypair name contains unsafe "
                                "characters")
    owner = _user(ctx, values.get("user_id"))
    if s.get(m.KeyPair, (owner, name)) is not None:
        raise errors.Conflict(f"Key pair '{name}' already exists.")
    count = s.scalar(select(func.count()).where(m.KeyPair.user_id == owner)) or 0
    quotas.check_one(s, ctx.project_id or "", "key_pairs", count + 1)
    private: str | None = None
    public = values.get("public_key")
    key_type = values.get("type", "ssh")
    if public is None:
        if not allow_generate:
            raise errors.BadRequest("Keypair data is invalid: public_key is required.")
        private, public = _generate()
    if key_type == "ssh":
        fp = fingerprint(public)
    else:
        fp = hashlib.sha1(public.encode(), usedforsecurity=False).hexdigest()
        fp = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
    row = m.KeyPair(user_id=owner, name=name, type=key_type, public_key=public.strip(),
                    fingerprint=fp)
    s.add(row)
    s.flush()
    return row, private


def delete(s: Session, ctx: Context, name: str, user_id: str | None = None) -> None:
    policy.enforce(ctx, "os_compute_api:os-keypairs:delete")
    s.delete(get(s, ctx, name, user_id))


