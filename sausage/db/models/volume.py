"""Block storage tables (Cinder v3): volumes, snapshots, their metadata, volume types,
attachments and per-project quota overrides.

A volume row is both what the user asked for (``size``, the source it is made from) and what
its volume host's agent last reported (``status`` moves creating → available, extending →
available, deleting → row gone, as the reports say). ``host_id`` is the host whose storage
backend holds the volume; its agent makes, copies, grows and removes the backing file.

``volume_attachments`` is Cinder's attachments table and Nova's block device mappings in one:
a row ties a volume to a server (or only reserves it, for the attachments API), with the device
name and boot index Nova shows and the attach status the agent's reports keep true.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sausage.db.models.base import Base, utcnow

__all__ = [
    "VolumeType", "VolumeTypeExtraSpec", "VolumeTypeAccess", "Volume", "VolumeMetadata",
    "VolumeSnapshot", "SnapshotMetadata", "VolumeAttachment", "VolumeQuota",
    "VolumeDefaultType",
]


class VolumeType(Base):
    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    is_public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeTypeAccess(Base):
    __tablename__ = "volume_type_access"
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (
        Index("ix_volumes_project_created", "project_id", "created_at"),
        Index("ix_volumes_host", "host_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int]  # GiB, as asked (the agent grows the file to it)
    # creating | available | reserved | attaching | in-use | detaching | extending |
    # uploading | deleting | error | error_deleting | error_extending | maintenance
    status: Mapped[str] = mapped_column(String(32), default="creating")
    attach_status: Mapped[str] = mapped_column(String(16), default="detached")
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"))
    bootable: Mapped[bool] = mapped_column(default=False)
    readonly: Mapped[bool] = mapped_column(default=False)
    multiattach: Mapped[bool] = mapped_column(default=False)
    # Where the data lives: the host whose agent holds it, and that backend's name ("file").
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"))
    backend: Mapped[str] = mapped_column(String(16), default="file")
    # What it was made from (one of them, or none for a blank volume).
    source_volid: Mapped[str | None] = mapped_column(String(36))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    # Cinder's volume_image_metadata: the source image's id, name, formats, sizes, properties.
    image_metadata: Mapped[dict[str, str] | None]
    # One-shot uploads to images (os-volume_upload_image) the agent has not finished:
    # [{"seq", "image_id", "disk_format", "status_after"}].
    pending_uploads: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    upload_seq: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why it went to an error status
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    launched_at: Mapped[datetime.datetime | None]


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeSnapshot(Base):
    __tablename__ = "volume_snapshots"
    __table_args__ = (Index("ix_volume_snapshots_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int]  # GiB: the volume's size when the snapshot was taken
    # creating | available | deleting | error | error_deleting
    status: Mapped[str] = mapped_column(String(32), default="creating")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class SnapshotMetadata(Base):
    __tablename__ = "volume_snapshot_metadata"
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("volume_snapshots.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeAttachment(Base):
    __tablename__ = "volume_attachments"
    __table_args__ = (
        Index("ix_volume_attachments_instance", "instance_uuid"),
        UniqueConstraint("volume_id", "instance_uuid"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    instance_uuid: Mapped[str | None] = mapped_column(String(36))  # None: only reserved
    attached_host: Mapped[str | None] = mapped_column(String(255))  # the host's name
    mountpoint: Mapped[str | None] = mapped_column(String(255))  # "/dev/vdb", as Nova shows
    # reserved | attaching | attached | detaching | error_attaching | error_detaching
    attach_status: Mapped[str] = mapped_column(String(32), default="reserved")
    attach_mode: Mapped[str] = mapped_column(String(4), default="rw")  # rw | ro
    connector: Mapped[dict[str, Any] | None]
    # Nova's block device mapping: 0 is the root disk of a server booted from the volume.
    boot_index: Mapped[int | None]
    delete_on_termination: Mapped[bool] = mapped_column(default=False)
    tag: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(Text)
    attach_time: Mapped[datetime.datetime | None]
    detach_time: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class VolumeDefaultType(Base):
    """A project's own default volume type (Cinder's default-types API, 3.62): volumes it
    makes without a type get this one instead of the cloud's default."""

    __tablename__ = "volume_default_types"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class VolumeQuota(Base):
    """A per-project override of a block-storage default limit ('volumes', 'gigabytes' …)."""

    __tablename__ = "volume_quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int]
