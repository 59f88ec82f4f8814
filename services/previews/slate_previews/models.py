"""Tables of the previews service (schema ``previews``). Private to it.

``job`` is the processing queue (movies, playlist builds): a worker leases a
row, heartbeats while it works, and a row whose lease expired is leased again
by any worker, so a killed worker never leaves a preview ``processing``.
``task_ref`` and ``project_ref`` are event-fed projections (see README).
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns, now
from slatekit.store import outbox_tables
from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData()
outbox, inbox = outbox_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class PreviewFile(BaseColumns, Base):
    __tablename__ = "preview_file"
    name: Mapped[str | None] = mapped_column(String(250))
    original_name: Mapped[str | None] = mapped_column(String(250))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=1)
    extension: Mapped[str | None] = mapped_column(String(6))
    description: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(String(400))
    source: Mapped[str | None] = mapped_column(String(40))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default="processing")
    validation_status: Mapped[str] = mapped_column(String(20), default="neutral")
    annotations: Mapped[list | None] = mapped_column(JSONB)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float] = mapped_column(Float, default=0)
    data: Mapped[dict | None] = mapped_column(JSONB)
    task_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    person_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    source_file_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    is_movie: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str | None] = mapped_column(String(600))
    uploaded_movie_url: Mapped[str | None] = mapped_column(String(600))
    uploaded_movie_name: Mapped[str | None] = mapped_column(String(150))
    # Ours, not in Zou's JSON: where it belongs and why it broke.
    comment_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    entity_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    task_type_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    source_key: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)


class Job(BaseColumns, Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_lease", "status", "lease_until"),)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # movie | build
    target_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    worker: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JSONB)


class PreviewBackgroundFile(BaseColumns, Base):
    __tablename__ = "preview_background_file"
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    original_name: Mapped[str | None] = mapped_column(String(250))
    extension: Mapped[str | None] = mapped_column(String(6))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)


class Playlist(BaseColumns, Base):
    __tablename__ = "playlist"
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    shots: Mapped[list | None] = mapped_column(JSONB)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    episode_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    task_type_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    for_client: Mapped[bool] = mapped_column(Boolean, default=False)
    for_entity: Mapped[str] = mapped_column(String(10), default="shot")
    is_for_all: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(UUID(as_uuid=False))


class BuildJob(BaseColumns, Base):
    __tablename__ = "build_job"
    status: Mapped[str] = mapped_column(String(20), default="running")
    job_type: Mapped[str] = mapped_column(String(20), default="movie")
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message: Mapped[str | None] = mapped_column(Text)
    playlist_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)


class SharedLink(BaseColumns, Base):
    __tablename__ = "shared_link"
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    playlist_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    created_by: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Zou's switch: may guests of the link comment and annotate?
    can_comment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default="true")


class Thumbnail(Base):
    """Which persons, organisations and projects have a stored thumbnail."""

    __tablename__ = "thumbnail"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    instance_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class TaskRef(Base):
    """Projection of tasks (task:* events): where a preview belongs."""

    __tablename__ = "task_ref"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    entity_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    task_type_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    assignees: Mapped[list | None] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ProjectRef(Base):
    """Projection of projects (project:* events): team, fps, resolution."""

    __tablename__ = "project_ref"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(250))
    team: Mapped[list | None] = mapped_column(JSONB)
    fps: Mapped[str | None] = mapped_column(String(10))
    resolution: Mapped[str | None] = mapped_column(String(12))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
