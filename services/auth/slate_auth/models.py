"""Tables of the auth service (schema ``auth``). Private to this service.

Secrets (password hash, OTP secrets, recovery codes, FIDO credentials, bot
token id) live in ``credential``, never in ``person``: serialising a person
cannot leak them.
"""

from __future__ import annotations

import datetime as dt

from slatekit.crud import BaseColumns, now
from slatekit.store import outbox_tables
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA = "auth"
metadata = MetaData()
outbox, inbox = outbox_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


department_link = Table(
    "department_link",
    metadata,
    Column("person_id", UUID(as_uuid=False), ForeignKey("person.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", UUID(as_uuid=False), ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(BaseColumns, Base):
    __tablename__ = "organisation"
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    hours_by_day: Mapped[float] = mapped_column(default=8.0)
    has_avatar: Mapped[bool] = mapped_column(Boolean, default=False)
    use_original_file_name: Mapped[bool] = mapped_column(Boolean, default=False)
    timesheets_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    format_duration_in_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    hd_by_default: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_token_slack: Mapped[str | None] = mapped_column(String(80), default="")
    chat_webhook_mattermost: Mapped[str | None] = mapped_column(String(80), default="")
    chat_token_discord: Mapped[str | None] = mapped_column(String(80), default="")
    dark_theme_by_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Studio(BaseColumns, Base):
    __tablename__ = "studio"
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    color: Mapped[str | None] = mapped_column(String(7))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class Department(BaseColumns, Base):
    __tablename__ = "department"
    name: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    color: Mapped[str | None] = mapped_column(String(7))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class Person(BaseColumns, Base):
    __tablename__ = "person"
    first_name: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    last_name: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(30))
    country: Mapped[str | None] = mapped_column(String(2))
    contract_type: Mapped[str] = mapped_column(String(30), default="open-ended", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    last_presence: Mapped[dt.date | None] = mapped_column(Date)
    desktop_login: Mapped[str | None] = mapped_column(String(80))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    email_otp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    fido_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_two_factor_authentication: Mapped[str | None] = mapped_column(String(30))
    shotgun_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    timezone: Mapped[str | None] = mapped_column(String(50), default="Europe/Paris")
    locale: Mapped[str | None] = mapped_column(String(10), default="en_US")
    use_12_hour_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    display_date_format: Mapped[str | None] = mapped_column(String(20), default="YYYY-MM-DD")
    data: Mapped[dict | None] = mapped_column(JSONB)
    role: Mapped[str] = mapped_column(String(30), default="user", nullable=False)
    position: Mapped[str | None] = mapped_column(String(30), default="artist")
    seniority: Mapped[str | None] = mapped_column(String(30), default="mid")
    daily_salary: Mapped[int | None] = mapped_column(Integer, default=0)
    has_avatar: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications_slack_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications_slack_userid: Mapped[str | None] = mapped_column(String(60), default="")
    notifications_mattermost_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications_mattermost_userid: Mapped[str | None] = mapped_column(String(60), default="")
    notifications_discord_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications_discord_userid: Mapped[str | None] = mapped_column(String(60), default="")
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    expiration_date: Mapped[dt.date | None] = mapped_column(Date)
    is_generated_from_ldap: Mapped[bool] = mapped_column(Boolean, default=False)
    ldap_uid: Mapped[str | None] = mapped_column(String(60), unique=True)
    studio_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), ForeignKey("studio.id"), index=True)

    departments: Mapped[list[Department]] = relationship(secondary=department_link, lazy="selectin")

    __table_args__ = (
        Index(
            "only_one_email_by_person",
            "email",
            unique=True,
            postgresql_where=Column("is_bot").isnot(True),
        ),
    )

    @property
    def full_name(self) -> str:
        if self.first_name and self.last_name:
            return f"{self.first_name} {self.last_name}"
        return f"{self.first_name or ''}{self.last_name or ''}"


class Credential(Base):
    """Secrets of a person, one row each; never serialised."""

    __tablename__ = "credential"
    person_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[bytes | None] = mapped_column(LargeBinary(60))
    login_failed_attemps: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_login_failed: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(32))
    email_otp_secret: Mapped[str | None] = mapped_column(String(32))
    fido_credentials: Mapped[list | None] = mapped_column(JSONB)
    fido_challenge: Mapped[dict | None] = mapped_column(JSONB)
    otp_recovery_codes: Mapped[list | None] = mapped_column(ARRAY(LargeBinary(60)))
    bot_jti: Mapped[str | None] = mapped_column(String(60), unique=True)
    password_reset_token: Mapped[str | None] = mapped_column(String(128))
    password_reset_expires: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RevokedSession(Base):
    """A logged-out session id (access and refresh tokens share it)."""

    __tablename__ = "revoked_session"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, nullable=False)


class DayOff(BaseColumns, Base):
    __tablename__ = "day_off"
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    end_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
    )


class SearchFilterGroup(BaseColumns, Base):
    __tablename__ = "search_filter_group"
    list_type: Mapped[str] = mapped_column(String(80), nullable=False)
    entity_type: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    color: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    person_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    department_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)


class SearchFilter(BaseColumns, Base):
    __tablename__ = "search_filter"
    list_type: Mapped[str] = mapped_column(String(80), nullable=False)
    entity_type: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    search_query: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    search_filter_group_id: Mapped[str | None] = mapped_column(
        UUID(as_uuid=False), ForeignKey("search_filter_group.id", ondelete="SET NULL"), index=True
    )
    person_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    department_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)


class LoginLog(BaseColumns, Base):
    __tablename__ = "login_log"
    person_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True, nullable=False)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    origin: Mapped[str | None] = mapped_column(String(10))


class DesktopLoginLog(BaseColumns, Base):
    __tablename__ = "desktop_login_log"
    person_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
    )
    date: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=now)


class HardwareItem(BaseColumns, Base):
    """Studio hardware (workstations, tablets…) for budget forecasts."""

    __tablename__ = "hardware_item"
    name: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    short_name: Mapped[str] = mapped_column(String(20), nullable=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    monthly_cost: Mapped[int | None] = mapped_column(Integer, default=0)
    inventory_amount: Mapped[int | None] = mapped_column(Integer, default=0)


class HardwareItemDepartmentLink(BaseColumns, Base):
    __tablename__ = "hardware_item_department_link"
    department_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("department.id", ondelete="CASCADE"), index=True, nullable=False
    )
    hardware_item_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("hardware_item.id", ondelete="CASCADE"), index=True, nullable=False
    )
    __table_args__ = (UniqueConstraint("hardware_item_id", "department_id", name="hardware_item_department_link_uc"),)


class SoftwareDepartmentLink(BaseColumns, Base):
    """A software licence used by a department. Software rows belong to the
    files service: ``software_id`` is a plain UUID, no foreign key."""

    __tablename__ = "software_department_link"
    department_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("department.id", ondelete="CASCADE"), index=True, nullable=False
    )
    software_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True, nullable=False)
    __table_args__ = (UniqueConstraint("department_id", "software_id", name="software_department_link_uc"),)
