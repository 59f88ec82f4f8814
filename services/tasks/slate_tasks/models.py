"""Tables of the tasks service (schema ``tasks``). Private to this service.

Own data: task types, statuses, automations, tasks and their assignees,
comments (mentions, acknowledgements, replies, checklists, previews and
attachments), time spents, schedule items, milestones, production schedule
versions, budgets, salary scales, and stored Idempotency-Key results.

Projections (``proj_*``), rebuilt from their owners and kept current by
events: projects and teams (assets), entities and entity types (assets),
persons (auth). A projection row may be a placeholder (``placeholder=True``)
when an admin referenced an id before its event arrived; the event fills it.
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns, now
from slatekit.store import outbox_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "tasks"
metadata = MetaData()
outbox, inbox = outbox_tables(metadata)
U = UUID(as_uuid=False)


class Base(DeclarativeBase):
    metadata = metadata


class TaskType(BaseColumns, Base):
    __tablename__ = "task_type"
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    short_name: Mapped[str | None] = mapped_column(String(20), default="")
    description: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str | None] = mapped_column(String(7), default="#FFFFFF")
    priority: Mapped[int | None] = mapped_column(Integer, default=1)
    for_entity: Mapped[str | None] = mapped_column(String(30), default="Asset")
    allow_timelog: Mapped[bool | None] = mapped_column(Boolean, default=True)
    archived: Mapped[bool | None] = mapped_column(Boolean, default=False)
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[str | None] = mapped_column(U)
    __table_args__ = (UniqueConstraint("name", "for_entity", "department_id", name="task_type_uc"),)


class TaskStatus(BaseColumns, Base):
    __tablename__ = "task_status"
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    archived: Mapped[bool | None] = mapped_column(Boolean, default=False)
    short_name: Mapped[str] = mapped_column(String(10), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(7), nullable=False, default="#f5f5f5")
    priority: Mapped[int | None] = mapped_column(Integer, default=1)
    is_done: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_artist_allowed: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_client_allowed: Mapped[bool | None] = mapped_column(Boolean, default=True)
    is_retake: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_feedback_request: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool | None] = mapped_column(Boolean, default=False)
    is_wip: Mapped[bool | None] = mapped_column(Boolean, default=False)
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    for_concept: Mapped[bool | None] = mapped_column(Boolean, default=False)


class StatusAutomation(BaseColumns, Base):
    __tablename__ = "status_automation"
    entity_type: Mapped[str | None] = mapped_column(String(40), default="asset")
    in_task_type_id: Mapped[str] = mapped_column(U, nullable=False)
    in_task_status_id: Mapped[str] = mapped_column(U, nullable=False)
    out_field_type: Mapped[str] = mapped_column(String(40), nullable=False, default="status")
    out_task_type_id: Mapped[str | None] = mapped_column(U)
    out_task_status_id: Mapped[str | None] = mapped_column(U)
    import_last_revision: Mapped[bool | None] = mapped_column(Boolean, default=False)
    archived: Mapped[bool | None] = mapped_column(Boolean, default=False)


task_person_link = Table(
    "task_person_link",
    metadata,
    Column("task_id", U, ForeignKey("task.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", U, primary_key=True, index=True),
)


class Task(BaseColumns, Base):
    __tablename__ = "task"
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int | None] = mapped_column(Integer, default=0)
    difficulty: Mapped[int] = mapped_column(Integer, default=3, nullable=False)
    duration: Mapped[float | None] = mapped_column(Float, default=0)
    estimation: Mapped[float | None] = mapped_column(Float, default=0)
    completion_rate: Mapped[int | None] = mapped_column(Integer, default=0)
    retake_count: Mapped[int | None] = mapped_column(Integer, default=0)
    sort_order: Mapped[int | None] = mapped_column(Integer, default=0)
    start_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    real_start_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    end_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    done_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_comment_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    nb_assets_ready: Mapped[int | None] = mapped_column(Integer, default=0)
    data: Mapped[dict | None] = mapped_column(JSONB)
    nb_drawings: Mapped[int | None] = mapped_column(Integer, default=0)
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    last_preview_file_id: Mapped[str | None] = mapped_column(U)
    project_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    task_type_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    task_status_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    entity_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    assigner_id: Mapped[str | None] = mapped_column(U)
    __table_args__ = (
        UniqueConstraint("name", "project_id", "task_type_id", "entity_id", name="task_uc"),
    )


class Comment(BaseColumns, Base):
    __tablename__ = "comment"
    shotgun_id: Mapped[int | None] = mapped_column(Integer)
    object_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(80), nullable=False, default="Task")
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONB)
    replies: Mapped[list | None] = mapped_column(JSONB, default=list)
    checklist: Mapped[list | None] = mapped_column(JSONB, default=list)
    pinned: Mapped[bool | None] = mapped_column(Boolean)
    for_client: Mapped[bool | None] = mapped_column(Boolean, default=False)
    links: Mapped[list | None] = mapped_column(ARRAY(String), default=list)
    task_status_id: Mapped[str | None] = mapped_column(U)
    person_id: Mapped[str] = mapped_column(U, nullable=False)
    editor_id: Mapped[str | None] = mapped_column(U)
    preview_file_id: Mapped[str | None] = mapped_column(U)
    # Zou keeps these in link tables; here they are id arrays on the row
    # (same JSON, one row to read, no join for the task conversation).
    project_id: Mapped[str | None] = mapped_column(U, index=True)
    mentions: Mapped[list] = mapped_column(ARRAY(U), default=list, nullable=False)
    department_mentions: Mapped[list] = mapped_column(ARRAY(U), default=list, nullable=False)
    acknowledgements: Mapped[list] = mapped_column(ARRAY(U), default=list, nullable=False)
    previews: Mapped[list] = mapped_column(JSONB, default=list, nullable=False)
    # True when this comment changed the task's status (F2 counts them).
    changed_status: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class AttachmentFile(BaseColumns, Base):
    __tablename__ = "attachment_file"
    name: Mapped[str | None] = mapped_column(String(250))
    size: Mapped[int | None] = mapped_column(BigInteger, default=1)
    extension: Mapped[str | None] = mapped_column(String(6))
    mimetype: Mapped[str | None] = mapped_column(String(255))
    comment_id: Mapped[str | None] = mapped_column(U, ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    reply_id: Mapped[str | None] = mapped_column(U)
    chat_message_id: Mapped[str | None] = mapped_column(U)
    storage_key: Mapped[str | None] = mapped_column(String(500))


class TimeSpent(BaseColumns, Base):
    __tablename__ = "time_spent"
    duration: Mapped[float] = mapped_column(Float, nullable=False)
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    task_id: Mapped[str] = mapped_column(U, ForeignKey("task.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    __table_args__ = (UniqueConstraint("person_id", "task_id", "date", name="time_spent_uc"),)


class ScheduleItem(BaseColumns, Base):
    __tablename__ = "schedule_item"
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    man_days: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    task_type_id: Mapped[str | None] = mapped_column(U)
    object_id: Mapped[str | None] = mapped_column(U)


class Milestone(BaseColumns, Base):
    __tablename__ = "milestone"
    date: Mapped[dt.date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    project_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    task_type_id: Mapped[str | None] = mapped_column(U)


class ProductionScheduleVersion(BaseColumns, Base):
    __tablename__ = "production_schedule_version"
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    project_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    production_schedule_from: Mapped[str | None] = mapped_column(U)
    locked: Mapped[bool | None] = mapped_column(Boolean, default=False)
    canceled: Mapped[bool | None] = mapped_column(Boolean, default=False)


class ProductionScheduleVersionTaskLink(BaseColumns, Base):
    __tablename__ = "production_schedule_version_task_link"
    production_schedule_version_id: Mapped[str] = mapped_column(
        U, ForeignKey("production_schedule_version.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(U, ForeignKey("task.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_date: Mapped[dt.datetime | None] = mapped_column(DateTime)
    estimation: Mapped[float | None] = mapped_column(Float, default=0)
    assignees: Mapped[list] = mapped_column(ARRAY(U), default=list, nullable=False)


class Budget(BaseColumns, Base):
    __tablename__ = "budget"
    project_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    currency: Mapped[str | None] = mapped_column(String(3))


class BudgetEntry(BaseColumns, Base):
    __tablename__ = "budget_entry"
    budget_id: Mapped[str] = mapped_column(U, ForeignKey("budget.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[str | None] = mapped_column(U)
    person_id: Mapped[str | None] = mapped_column(U)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    months_duration: Mapped[int] = mapped_column(Integer, nullable=False)
    daily_salary: Mapped[float] = mapped_column(Float, nullable=False)
    position: Mapped[str | None] = mapped_column(String(40), default="artist")
    seniority: Mapped[str | None] = mapped_column(String(40), default="mid")
    exceptions: Mapped[dict | None] = mapped_column(JSONB)


class SalaryScale(BaseColumns, Base):
    __tablename__ = "salary_scale"
    department_id: Mapped[str | None] = mapped_column(U)
    position: Mapped[str | None] = mapped_column(String(40), default="artist")
    seniority: Mapped[str | None] = mapped_column(String(40), default="mid")
    salary: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class IdempotencyKey(Base):
    """The result of a POST done under an Idempotency-Key, returned on retry."""

    __tablename__ = "idempotency_key"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    person_id: Mapped[str | None] = mapped_column(U)
    operation: Mapped[str] = mapped_column(String(80), nullable=False)
    result: Mapped[dict | list | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, nullable=False)


# ------------------------------------------------------------------ projections
class ProjProject(Base):
    __tablename__ = "proj_project"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(20), default="open")  # open | closed
    team: Mapped[list] = mapped_column(ARRAY(U), default=list, nullable=False)
    roles: Mapped[dict] = mapped_column(JSONB, default=dict, nullable=False)  # person_id -> role override
    max_retakes: Mapped[int | None] = mapped_column(Integer, default=0)
    is_clients_isolated: Mapped[bool | None] = mapped_column(Boolean, default=False)
    production_type: Mapped[str | None] = mapped_column(String(20))
    has_avatar: Mapped[bool | None] = mapped_column(Boolean, default=False)
    record: Mapped[dict | None] = mapped_column(JSONB)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ProjEntity(Base):
    __tablename__ = "proj_entity"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str | None] = mapped_column(U, index=True)
    entity_type_id: Mapped[str | None] = mapped_column(U)
    type_name: Mapped[str | None] = mapped_column(String(40))  # Shot, Sequence, Asset, ...
    parent_id: Mapped[str | None] = mapped_column(U, index=True)
    source_id: Mapped[str | None] = mapped_column(U)
    canceled: Mapped[bool | None] = mapped_column(Boolean, default=False)
    nb_frames: Mapped[int | None] = mapped_column(Integer)
    preview_file_id: Mapped[str | None] = mapped_column(U)
    data: Mapped[dict | None] = mapped_column(JSONB)
    record: Mapped[dict | None] = mapped_column(JSONB)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ProjEntityType(Base):
    __tablename__ = "proj_entity_type"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ProjPerson(Base):
    __tablename__ = "proj_person"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(80))
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    has_avatar: Mapped[bool | None] = mapped_column(Boolean, default=False)
    departments: Mapped[list] = mapped_column(ARRAY(U), default=list, nullable=False)
    record: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


Index("ix_task_project_status", Task.project_id, Task.task_status_id)
Index("ix_comment_object_created", Comment.object_id, Comment.created_at)


class ProjDepartment(Base):
    __tablename__ = "proj_department"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
