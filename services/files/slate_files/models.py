"""Tables of the files service (schema ``files``). Private to this service.

``ref`` is the event-fed projection of the names path generation needs
(projects, entities, tasks, task types, entity types); see the README.
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns
from slatekit.store import outbox_tables
from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, MetaData, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData()
outbox, inbox = outbox_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class OutputType(BaseColumns, Base):
    __tablename__ = "output_type"
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    short_name: Mapped[str] = mapped_column(String(20), nullable=False, default="")


class Software(BaseColumns, Base):
    __tablename__ = "software"
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    short_name: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[str | None] = mapped_column(String(20))
    file_extension: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    secondary_extensions: Mapped[list | None] = mapped_column(JSONB)
    monthly_cost: Mapped[int] = mapped_column(Integer, default=0)
    inventory_amount: Mapped[int] = mapped_column(Integer, default=0)


class FileStatus(BaseColumns, Base):
    __tablename__ = "file_status"
    name: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    color: Mapped[str] = mapped_column(String(7), nullable=False, default="#000000")


class WorkingFile(BaseColumns, Base):
    __tablename__ = "working_file"
    __table_args__ = (Index("ix_working_file_task_name_rev", "task_id", "name", "revision", unique=True),)
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(250))
    description: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict | None] = mapped_column(JSONB)
    validation_status: Mapped[str] = mapped_column(String(20), default="neutral")
    task_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    entity_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    person_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    software_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)


class OutputFile(BaseColumns, Base):
    __tablename__ = "output_file"
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(250), nullable=False, default="main")
    canceled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    extension: Mapped[str | None] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    representation: Mapped[str | None] = mapped_column(String(20), index=True)
    nb_elements: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str | None] = mapped_column(String(40))
    path: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict | None] = mapped_column(JSONB)
    quality: Mapped[str | None] = mapped_column(String(10))
    file_status_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    entity_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    asset_instance_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    output_type_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    task_type_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    person_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    source_file_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    temporal_entity_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)


class ProjectFileTree(Base):
    """The file tree a project uses for path generation (set-file-tree)."""

    __tablename__ = "project_file_tree"
    project_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    file_tree: Mapped[dict] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class Ref(Base):
    """Projection: names of other services' rows (project, entity, task,
    task type, entity type), from their events' ``record``."""

    __tablename__ = "ref"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str | None] = mapped_column(String(250))
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    parent_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    type_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    entity_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    data: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
