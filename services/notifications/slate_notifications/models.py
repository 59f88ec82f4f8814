"""Tables of the notifications service (schema ``notifications``).

Owned: ``notification``, ``news``, ``subscription``, ``chat``,
``chat_participant``, ``chat_message`` (Zou's tables). Projections (fed by
events, rebuilt from owners): ``p_task``, ``p_comment``, ``p_entity``,
``p_project``, ``p_person``: what a notification or a news row needs to be
built and listed without calling back.
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns
from slatekit.store import outbox_tables
from sqlalchemy import Boolean, DateTime, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData()
outbox, inbox = outbox_tables(metadata)
U = UUID(as_uuid=False)


class Base(DeclarativeBase):
    metadata = metadata


class Notification(BaseColumns, Base):
    __tablename__ = "notification"
    read: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    change: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    person_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    author_id: Mapped[str | None] = mapped_column(U)
    comment_id: Mapped[str | None] = mapped_column(U, index=True)
    task_id: Mapped[str | None] = mapped_column(U, index=True)
    playlist_id: Mapped[str | None] = mapped_column(U)
    reply_id: Mapped[str | None] = mapped_column(U)
    # One notification of a kind per person and comment/reply: a second line
    # of defence behind the inbox against redelivered events.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class News(BaseColumns, Base):
    __tablename__ = "news"
    change: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    author_id: Mapped[str | None] = mapped_column(U)
    comment_id: Mapped[str | None] = mapped_column(U, unique=True)
    task_id: Mapped[str | None] = mapped_column(U, index=True)
    preview_file_id: Mapped[str | None] = mapped_column(U)


class Subscription(BaseColumns, Base):
    __tablename__ = "subscription"
    person_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    task_id: Mapped[str | None] = mapped_column(U, index=True)
    entity_id: Mapped[str | None] = mapped_column(U)
    task_type_id: Mapped[str | None] = mapped_column(U)
    __table_args__ = (
        UniqueConstraint("person_id", "task_id", name="subscription_task_uc"),
        UniqueConstraint("person_id", "entity_id", "task_type_id", name="subscription_entity_uc"),
    )


class Chat(BaseColumns, Base):
    __tablename__ = "chat"
    object_id: Mapped[str] = mapped_column(U, nullable=False, unique=True)
    object_type: Mapped[str] = mapped_column(String(80), nullable=False, default="entity")
    last_message: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ChatParticipant(Base):
    __tablename__ = "chat_participant"
    chat_id: Mapped[str] = mapped_column(U, primary_key=True)
    person_id: Mapped[str] = mapped_column(U, primary_key=True, index=True)


class ChatMessage(BaseColumns, Base):
    __tablename__ = "chat_message"
    chat_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    person_id: Mapped[str] = mapped_column(U, nullable=False)
    text: Mapped[str | None] = mapped_column(Text)
    attachment_files: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)


# ---------------------------------------------------------------- projections
class PTask(Base):
    __tablename__ = "p_task"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(U, index=True)
    entity_id: Mapped[str | None] = mapped_column(U, index=True)
    task_type_id: Mapped[str | None] = mapped_column(U)
    task_status_id: Mapped[str | None] = mapped_column(U)
    assignees: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)


class PComment(Base):
    __tablename__ = "p_comment"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    task_id: Mapped[str | None] = mapped_column(U, index=True)
    person_id: Mapped[str | None] = mapped_column(U)
    text: Mapped[str | None] = mapped_column(Text)
    task_status_id: Mapped[str | None] = mapped_column(U)
    replies: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    mentions: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    department_mentions: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    preview_file_id: Mapped[str | None] = mapped_column(U)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PEntity(Base):
    __tablename__ = "p_entity"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))
    project_id: Mapped[str | None] = mapped_column(U)
    entity_type_id: Mapped[str | None] = mapped_column(U)
    parent_id: Mapped[str | None] = mapped_column(U)
    preview_file_id: Mapped[str | None] = mapped_column(U)
    type_name: Mapped[str | None] = mapped_column(String(200))  # the asset type's name, for full_entity_name
    source_id: Mapped[str | None] = mapped_column(U)  # an asset's source episode


class PProject(Base):
    __tablename__ = "p_project"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class PPerson(Base):
    __tablename__ = "p_person"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    has_avatar: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    departments: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    settings: Mapped[dict] = mapped_column(JSONB, nullable=False, default=dict)  # notifications_* flags and ids


class PStatusChange(Base):
    """A ``task:status-changed`` waiting for (or matched with) the comment
    that caused it: comment:new and the status change travel as two events
    and may be handled in either order; ``comment_id`` pairs them once."""

    __tablename__ = "p_status_change"
    id: Mapped[str] = mapped_column(U, primary_key=True)
    task_id: Mapped[str] = mapped_column(U, nullable=False, index=True)
    status_id: Mapped[str | None] = mapped_column(U)
    person_id: Mapped[str | None] = mapped_column(U)
    comment_id: Mapped[str | None] = mapped_column(U, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


Index("ix_news_created", News.created_at)
Index("ix_notification_person_created", Notification.person_id, Notification.created_at)
