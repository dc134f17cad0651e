"""The cloud's long-lived service objects, built once from the settings: the database handle and
the token provider. The API holds one ``Cloud``; nothing else keeps global state."""

from __future__ import annotations

import datetime
import logging
import os
import pathlib
import secrets

from sausage import errors
from sausage.config import Settings
from sausage.db.session import Database
from sausage.services.compute import flavors
from sausage.services.compute.host_section import ComputeSection
from sausage.services.dns import common as dns_common
from sausage.services.hosts.document import Section
from sausage.services.identity import bootstrap, revocation
from sausage.services.identity.fernet import KeyRepository
from sausage.services.identity.tokens import TokenProvider
from sausage.services.image import bootstrap as image_bootstrap
from sausage.services.image.store import ImageStore
from sausage.services.network import bootstrap as network_bootstrap
from sausage.services.network import dns_names
from sausage.services.network.host_section import NetworkSection
from sausage.services.volume import types as volume_types
from sausage.services.volume.host_section import VolumeSection

__all__ = ["Cloud", "CatalogEntry"]

log = logging.getLogger("sausage.services")

CatalogEntry = bootstrap.CatalogEntry

# The sections of each host's document, in the order they are built and folded: compute lists
# the servers, which network and volume then wire and plug.
HOST_SECTIONS: tuple[Section, ...] = (ComputeSection(), NetworkSection(), VolumeSection())


class Cloud:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url, info={**dns_names.session_info(settings),
                                                  **dns_common.session_info(settings)})
        self.keys = KeyRepository(settings.fernet_key_dir, settings.fernet_max_active_keys)
        self.keys.setup()
        self.tokens = TokenProvider(self.keys, settings.token_expiration)
        self.images = ImageStore(settings.images_dir)
        self.agent_key = _agent_key(settings.state_dir / "agent-key")
        self.host_sections = HOST_SECTIONS

    def prepare(self, *, admin_password: str, demo_password: str,
                catalog: list[bootstrap.CatalogEntry]) -> None:
        """Migrate the schema, bootstrap identity, the catalog and the first networks, rotate
        keys when due."""
        self.db.migrate()
        with self.db.transaction() as s:
            bootstrap.bootstrap(s, admin_password=admin_password, demo_password=demo_password,
                                region=self.settings.region, catalog=catalog)
            flavors.ensure_defaults(s)
            volume_types.default_type(s)  # made here, not racing in the first creates
        if self.settings.network_bootstrap:
            try:
                with self.db.transaction() as s:
                    network_bootstrap.bootstrap(s, self.settings.public_cidr)
            except errors.SausageError as e:
                # Convenience networks never keep the cloud from starting; say why they're not.
                log.warning("the bootstrap networks were not made: %s", e.message)
        if self.settings.test_image is not None:
            image_bootstrap.register_test_image(self.db, self.images, self.settings.test_image)
        self.maintain()

    def maintain(self) -> None:
        """Periodic housekeeping: key rotation when due, pruning revocation events."""
        if self.keys.rotate_if_older_than(self.settings.fernet_rotation_seconds):
            log.info("rotated the token signing keys")
        self.tokens.reload_keys()
        with self.db.transaction() as s:
            # An event older than the longest token lifetime can never match a live token.
            revocation.prune(s, datetime.timedelta(seconds=2 * self.settings.token_expiration))

    def close(self) -> None:
        self.db.dispose()


def _agent_key(path: pathlib.Path) -> str:
    """The secret an agent presents to register its host (made once, kept 0600)."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
