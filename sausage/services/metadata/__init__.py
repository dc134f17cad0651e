"""The metadata service's domain: what a guest learns about itself at 169.254.169.254.

``tree`` answers the OpenStack and EC2 trees for the server owning the asking address (called
by ``api/internal/metadata.py``); ``network_data`` renders ``network_data.json`` as Nova does.
"""

from __future__ import annotations

from sausage.services.metadata.tree import (EC2_VERSIONS, OPENSTACK_VERSIONS, Answer, Instance,
                                            answer, find_instance)

__all__ = ["Answer", "Instance", "answer", "find_instance", "OPENSTACK_VERSIONS",
           "EC2_VERSIONS"]
