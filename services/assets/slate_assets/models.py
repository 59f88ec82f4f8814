"""Tables of the assets service (schema ``assets``). Private to this service.

Projects and their settings links, the breakdown (one ``entity`` table for
assets, episodes, sequences, shots, scenes, edits and concepts, typed by
``entity_type``, as Zou has it), casting links, asset instances, metadata
descriptors, project templates, custom actions — plus the event-fed
projections of other services' rows (``ext_record``: persons, task types,
task statuses; ``task_row``: tasks for the ``*/with-tasks`` listings).

Ids of other services' rows (person, task type, task status, preview file,
status automation, preview background file) are plain UUID columns.
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns
from slatekit.store import outbox_tables
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData()
outbox, inbox = outbox_tables(metadata)
ID = UUID(as_uuid=False)


class Base(DeclarativeBase):
    metadata = metadata


class ProjectStatus(BaseColumns, Base):
    __tablename__ = "project_status"
    name: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    color: Mapped[str] = mapped_column(String(7), nullable=False, default="#000000")


class Project(BaseColumns, Base):
    __tablename__ = "project"
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    code: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    file_tree: Mapped[dict | None] = mapped_column(JSONB)
    data: Mapped[dict | None] = mapped_column(JSONB)
    has_avatar: Mapped[bool] = mapped_column(Boolean, default=False)
    fps: Mapped[str | None] = mapped_column(String(10), default="25")
    ratio: Mapped[str | None] = mapped_column(String(10), default="16:9")
    resolution: Mapped[str | None] = mapped_column(String(12), default="1920x1080")
    production_type: Mapped[str | None] = mapped_column(String(20), default="short")
    production_style: Mapped[str | None] = mapped_column(String(20), default="2d3d")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    man_days: Mapped[int | None] = mapped_column(Integer)
    nb_episodes: Mapped[int | None] = mapped_column(Integer, default=0)
    episode_span: Mapped[int | None] = mapped_column(Integer, default=0)
    max_retakes: Mapped[int | None] = mapped_column(Integer, default=0)
    is_clients_isolated: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_client_stats_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_client_task_list_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_client_task_panel_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_preview_download_allowed: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_set_preview_automated: Mapped[bool | None] = mapped_column(Boolean, default=False)
    homepage: Mapped[str | None] = mapped_column(String(80), default="assets")
    is_publish_default_for_artists: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_bot_collaboration_enabled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_single_preview_per_revision: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_frame_in_numbering: Mapped[bool | None] = mapped_column(Boolean, default=False)
    revision_padding: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    hd_bitrate_compression: Mapped[int | None] = mapped_column(Integer)
    ld_bitrate_compression: Mapped[int | None] = mapped_column(Integer)
    project_status_id: Mapped[str | None] = mapped_column(ID, ForeignKey("project_status.id"), index=True)
    default_preview_background_file_id: Mapped[str | None] = mapped_column(ID)
    from_schedule_version_id: Mapped[str | None] = mapped_column(ID)
    preview_account: Mapped[dict | None] = mapped_column(JSONB)


class ProjectPersonLink(Base):
    __tablename__ = "project_person_link"
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    role: Mapped[str | None] = mapped_column(String(30))


class ProjectTaskTypeLink(BaseColumns, Base):
    __tablename__ = "project_task_type_link"
    __table_args__ = (UniqueConstraint("project_id", "task_type_id"),)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id", ondelete="CASCADE"), index=True)
    task_type_id: Mapped[str] = mapped_column(ID, index=True)
    priority: Mapped[int | None] = mapped_column(Integer)
    hd_bitrate_compression: Mapped[int | None] = mapped_column(Integer)
    ld_bitrate_compression: Mapped[int | None] = mapped_column(Integer)
    is_client_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    softwares: Mapped[list | None] = mapped_column(JSONB, default=list)


class ProjectTaskStatusLink(BaseColumns, Base):
    __tablename__ = "project_task_status_link"
    __table_args__ = (UniqueConstraint("project_id", "task_status_id"),)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id", ondelete="CASCADE"), index=True)
    task_status_id: Mapped[str] = mapped_column(ID, index=True)
    priority: Mapped[int | None] = mapped_column(Integer)
    roles_for_board: Mapped[list | None] = mapped_column(JSONB)
    is_client_allowed: Mapped[bool | None] = mapped_column(Boolean)


class ProjectLink(Base):
    """Plain project ↔ thing links: asset types, status automations, preview backgrounds."""

    __tablename__ = "project_link"
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    other_id: Mapped[str] = mapped_column(ID, primary_key=True)


class EntityType(BaseColumns, Base):
    __tablename__ = "entity_type"
    name: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    short_name: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    archived: Mapped[bool | None] = mapped_column(Boolean, default=False)
    task_types: Mapped[list | None] = mapped_column(JSONB, default=list)


class Entity(BaseColumns, Base):
    __tablename__ = "entity"
    __table_args__ = (
        UniqueConstraint("name", "project_id", "entity_type_id", "parent_id", name="entity_uc"),
        Index("ix_entity_project_type", "project_id", "entity_type_id"),
    )
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    code: Mapped[str | None] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    canceled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    nb_frames: Mapped[int | None] = mapped_column(Integer)
    nb_entities_out: Mapped[int | None] = mapped_column(Integer, default=0)
    is_casting_standby: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str | None] = mapped_column(String(20), default="running")
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id"), nullable=False, index=True)
    entity_type_id: Mapped[str] = mapped_column(ID, ForeignKey("entity_type.id"), nullable=False, index=True)
    parent_id: Mapped[str | None] = mapped_column(ID, ForeignKey("entity.id"), index=True)
    source_id: Mapped[str | None] = mapped_column(ID, ForeignKey("entity.id"), index=True)
    preview_file_id: Mapped[str | None] = mapped_column(ID)
    data: Mapped[dict | None] = mapped_column(JSONB)
    ready_for: Mapped[str | None] = mapped_column(ID)
    created_by: Mapped[str | None] = mapped_column(ID)


class EntityLink(BaseColumns, Base):
    """Casting: ``entity_in`` (shot, sequence, asset…) casts ``entity_out`` (an asset)."""

    __tablename__ = "entity_link"
    __table_args__ = (UniqueConstraint("entity_in_id", "entity_out_id", name="entity_link_uc"),)
    entity_in_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    entity_out_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict | None] = mapped_column(JSONB)
    nb_occurences: Mapped[int | None] = mapped_column(Integer, default=1)
    label: Mapped[str | None] = mapped_column(String(80), default="")


class EntityConceptLink(BaseColumns, Base):
    __tablename__ = "entity_concept_link"
    __table_args__ = (UniqueConstraint("entity_in_id", "entity_out_id", name="entity_concept_link_uc"),)
    entity_in_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    entity_out_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)


class EntityVersion(BaseColumns, Base):
    __tablename__ = "entity_version"
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    data: Mapped[dict | None] = mapped_column(JSONB)
    entity_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str | None] = mapped_column(ID)


class AssetInstance(BaseColumns, Base):
    __tablename__ = "asset_instance"
    asset_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(80))
    number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    data: Mapped[dict | None] = mapped_column(JSONB)
    scene_id: Mapped[str | None] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    target_asset_id: Mapped[str | None] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), index=True)


class AssetInstanceLink(Base):
    __tablename__ = "asset_instance_link"
    entity_id: Mapped[str] = mapped_column(ID, ForeignKey("entity.id", ondelete="CASCADE"), primary_key=True)
    asset_instance_id: Mapped[str] = mapped_column(ID, ForeignKey("asset_instance.id", ondelete="CASCADE"), primary_key=True)


class MetadataDescriptor(BaseColumns, Base):
    __tablename__ = "metadata_descriptor"
    __table_args__ = (UniqueConstraint("project_id", "entity_type", "name", name="metadata_descriptor_uc"),)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id", ondelete="CASCADE"), index=True)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    task_type_id: Mapped[str | None] = mapped_column(ID)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    data_type: Mapped[str | None] = mapped_column(String(20), default="string")
    field_name: Mapped[str] = mapped_column(String(120), nullable=False)
    choices: Mapped[list | None] = mapped_column(JSONB, default=list)
    for_client: Mapped[bool | None] = mapped_column(Boolean, default=False)
    position: Mapped[int | None] = mapped_column(Integer)
    departments: Mapped[list | None] = mapped_column(JSONB, default=list)


class CustomAction(BaseColumns, Base):
    __tablename__ = "custom_action"
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    url: Mapped[str | None] = mapped_column(String(400))
    entity_type: Mapped[str | None] = mapped_column(String(40), default="all")
    is_ajax: Mapped[bool | None] = mapped_column(Boolean, default=False)


class ProjectTemplate(BaseColumns, Base):
    """A reusable project configuration; its links are id lists (JSONB)."""

    __tablename__ = "project_template"
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    fps: Mapped[str | None] = mapped_column(String(10), default="25")
    ratio: Mapped[str | None] = mapped_column(String(10), default="16:9")
    resolution: Mapped[str | None] = mapped_column(String(12), default="1920x1080")
    production_type: Mapped[str | None] = mapped_column(String(20), default="short")
    production_style: Mapped[str | None] = mapped_column(String(20), default="2d3d")
    max_retakes: Mapped[int | None] = mapped_column(Integer, default=0)
    is_clients_isolated: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_client_stats_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_client_task_list_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_client_task_panel_visible: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_preview_download_allowed: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_set_preview_automated: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_publish_default_for_artists: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_single_preview_per_revision: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_frame_in_numbering: Mapped[bool | None] = mapped_column(Boolean, default=False)
    revision_padding: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    homepage: Mapped[str | None] = mapped_column(String(80), default="assets")
    hd_bitrate_compression: Mapped[int | None] = mapped_column(Integer)
    ld_bitrate_compression: Mapped[int | None] = mapped_column(Integer)
    file_tree: Mapped[dict | None] = mapped_column(JSONB)
    data: Mapped[dict | None] = mapped_column(JSONB)
    metadata_descriptors: Mapped[list | None] = mapped_column(JSONB, default=list)
    default_preview_background_file_id: Mapped[str | None] = mapped_column(ID)
    task_types: Mapped[list | None] = mapped_column(JSONB, default=list)
    task_statuses: Mapped[list | None] = mapped_column(JSONB, default=list)
    asset_types: Mapped[list | None] = mapped_column(JSONB, default=list)
    status_automations: Mapped[list | None] = mapped_column(JSONB, default=list)
    preview_background_files: Mapped[list | None] = mapped_column(JSONB, default=list)


# ------------------------------------------------------------------ projections
class ExtRecord(Base):
    """Rows of other services, as their events carry them (``record``).

    kind: ``person`` (auth), ``task-type`` and ``task-status`` (tasks),
    ``preview-file`` (previews). Applied only if not older than what is stored.
    """

    __tablename__ = "ext_record"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    updated_at: Mapped[str | None] = mapped_column(String(40))
    record: Mapped[dict] = mapped_column(JSONB, nullable=False)


class TaskRow(Base):
    """Projection of tasks (from tasks' events) for the ``*/with-tasks`` listings."""

    __tablename__ = "task_row"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    entity_id: Mapped[str | None] = mapped_column(ID, index=True)
    task_type_id: Mapped[str | None] = mapped_column(ID)
    task_status_id: Mapped[str | None] = mapped_column(ID)
    assignees: Mapped[list | None] = mapped_column(JSONB, default=list)
    updated_at: Mapped[str | None] = mapped_column(String(40))
    record: Mapped[dict] = mapped_column(JSONB, nullable=False)
