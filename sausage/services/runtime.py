"""The cloud's long-lived service objects, built once from the settings: the database handle and
the token provider. The API holds one ``Cloud``; nothing else keeps global state."""

from __future__ import annotations

import datetime
import logging

from sausage.config import Settings
from sausage.db.session import Database
from sausage.services.identity import bootstrap, revocation
from sausage.services.identity.fernet import KeyRepository
from sausage.services.identity.tokens import TokenProvider
from sausage.services.image import bootstrap as image_bootstrap
from sausage.services.image.store import ImageStore

__all__ = ["Cloud", "CatalogEntry"]

log = logging.getLogger("sausage.services")

CatalogEntry = bootstrap.CatalogEntry


class Cloud:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url)
        self.keys = KeyRepository(settings.fernet_key_dir, settings.fernet_max_active_keys)
        self.keys.setup()
        self.tokens = TokenProvider(self.keys, settings.token_expiration)
        self.images = ImageStore(settings.images_dir)

    def prepare(self, *, admin_password: str, demo_password: str,
                catalog: list[bootstrap.CatalogEntry]) -> None:
        """Migrate the schema, bootstrap identity and the catalog, rotate keys when due."""
        self.db.migrate()
        with self.db.transaction() as s:
            bootstrap.bootstrap(s, admin_password=admin_password, demo_password=demo_password,
                                region=self.settings.region, catalog=catalog)
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
