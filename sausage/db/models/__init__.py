"""All tables, one module per service; importing this package registers every model."""

from sausage.db.models.base import Base
from sausage.db.models import compute, dns, identity, image, network, volume

__all__ = ["Base", "compute", "dns", "identity", "image", "network", "volume"]
