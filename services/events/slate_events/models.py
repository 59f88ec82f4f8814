"""Tables of the events service (schema ``events``). Private to this service.

- ``api_event``: the event log (Zou's table of the same name), every event any
  service publishes, keyed by its ``event_id``; ``seq`` orders them stably.
- ``project_member`` and ``principal``: projections (who belongs to which
  project, with which per-project role; global role and active flag) fed by
  ``project:*`` and ``person:*`` events. The stream and the log's scoping read them.
- ``webhook`` and ``webhook_delivery``: outbound subscriptions and their
  delivery log (pending → delivered | failed → dead).
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns, new_id, now
from slatekit.store import outbox_tables
from sqlalchemy import BigInteger, Boolean, DateTime, Identity, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData()
outbox, inbox = outbox_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


def utcnow_precise() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class ApiEvent(Base):
    __tablename__ = "api_event"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    source: Mapped[str | None] = mapped_column(String(80))
    user_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    data: Mapped[dict | None] = mapped_column(JSONB)
    # Microsecond precision: the replay cursor (``after``) must not lose
    # events that share a second.
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow_precise, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow_precise, nullable=False)

    __table_args__ = (
        Index("ix_api_event_created_at", "created_at"),
        Index("ix_api_event_project_created", "project_id", "created_at"),
    )


class ProjectMember(Base):
    __tablename__ = "project_member"
    project_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    person_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, index=True)
    role: Mapped[str | None] = mapped_column(String(40))


class Principal(Base):
    __tablename__ = "principal"
    person_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), nullable=False, default="user")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Webhook(BaseColumns, Base):
    __tablename__ = "webhook"
    project_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    url: Mapped[str] = mapped_column(Text, nullable=False)
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    event_names: Mapped[list] = mapped_column(JSONB, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[str | None] = mapped_column(UUID(as_uuid=False))


class WebhookDelivery(BaseColumns, Base):
    __tablename__ = "webhook_delivery"
    webhook_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False, index=True)
    event_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    event_name: Mapped[str] = mapped_column(String(120), nullable=False)
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=now)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_delivery_webhook_event"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )
