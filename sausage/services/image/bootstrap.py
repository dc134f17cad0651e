"""Registers the project's test guest as the public image ``sausage-test``, once."""

from __future__ import annotations

import logging
import pathlib
import uuid

from sqlalchemy import select

from sausage.db.models import identity as idm
from sausage.db.models import image as m
from sausage.db.session import Database
from sausage.services.image.store import ImageStore

__all__ = ["register_test_image", "TEST_IMAGE"]

TEST_IMAGE = "sausage-test"
log = logging.getLogger("sausage.services")


def register_test_image(db: Database, store: ImageStore, path: pathlib.Path) -> str:
    """The id of the active public ``sausage-test`` image, uploading ``path`` if there is none."""
    with db.transaction() as s:
        found = s.scalars(select(m.Image).where(
            m.Image.name == TEST_IMAGE, m.Image.visibility == "public",
            m.Image.status == "active")).first()
        if found is not None:
            return found.id
        admin = s.scalars(select(idm.Project.id).where(idm.Project.name == "admin")).first()
    if not path.exists():
        raise FileNotFoundError(f"test image {path} does not exist; build it with "
                                "tools/testimage/build")
    image_id = str(uuid.uuid4())
    written = store.copy_in(image_id, path, "qcow2")
    try:
        with db.transaction() as s:
            s.add(m.Image(
                id=image_id, name=TEST_IMAGE, owner=admin, status="active", visibility="public",
                protected=False, os_hidden=False, disk_format="qcow2", container_format="bare",
                size=written.size, virtual_size=written.virtual_size, checksum=written.md5,
                os_hash_algo="sha512", os_hash_value=written.sha512, min_disk=0, min_ram=0))
            s.add(m.ImageProperty(image_id=image_id, name="description",
                                  value="Sausage Cloud's tiny test guest (busybox, dropbear)"))
    except BaseException:
        store.delete(image_id)
        raise
    log.info("registered %s as image %s", path, image_id)
    return image_id
