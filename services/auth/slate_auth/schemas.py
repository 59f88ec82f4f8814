"""What crosses the wire: person views per reader, input allow-lists."""

from __future__ import annotations

from slatekit.crud import row_dict, to_json

from .models import Person

# Fields a person may set on themself (``PUT /data/persons/<self>``).
SELF_WRITABLE = (
    "first_name", "last_name", "phone", "country", "timezone", "locale", "use_12_hour_clock",
    "display_date_format", "notifications_enabled", "notifications_slack_enabled",
    "notifications_slack_userid", "notifications_mattermost_enabled",
    "notifications_mattermost_userid", "notifications_discord_enabled",
    "notifications_discord_userid", "desktop_login", "data",
)
# Fields an admin may also set.
ADMIN_WRITABLE = SELF_WRITABLE + (
    "email", "role", "active", "archived", "contract_type", "position", "seniority",
    "daily_salary", "studio_id", "is_bot", "expiration_date", "shotgun_id", "last_presence",
    "has_avatar", "ldap_uid", "is_generated_from_ldap",
)


def person_full(p: Person, relations: bool = True) -> dict:
    doc = row_dict(p, type_name="Person")
    doc["full_name"] = p.full_name
    if relations:
        doc["departments"] = [d.id for d in p.departments]
    return doc


def person_minimal(p: Person) -> dict:
    return {
        "id": p.id,
        "type": "Person",
        "first_name": p.first_name,
        "last_name": p.last_name,
        "full_name": p.full_name,
        "has_avatar": p.has_avatar,
        "active": p.active,
        "departments": [d.id for d in p.departments],
        "studio_id": p.studio_id,
        "role": p.role,
        "desktop_login": p.desktop_login,
        "is_bot": p.is_bot,
    }


def person_client(p: Person) -> dict:
    return {
        "id": p.id,
        "type": "Person",
        "first_name": p.first_name,
        "last_name": p.last_name,
        "full_name": p.full_name,
        "has_avatar": p.has_avatar,
        "active": p.active,
        "role": p.role,
        "is_bot": p.is_bot,
    }


def person_for(reader_role: str | None, reader_id: str | None, p: Person) -> dict:
    if reader_role in ("admin", "manager") or reader_id == p.id:
        return person_full(p)
    if reader_role in ("client", "vendor"):
        return person_client(p)
    return person_minimal(p)


def organisation_dump(o, sensitive: bool) -> dict:
    doc = row_dict(o, type_name="Organisation")
    if not sensitive:
        for key in ("chat_token_slack", "chat_webhook_mattermost", "chat_token_discord"):
            doc.pop(key, None)
    return doc


__all__ = ["person_for", "person_full", "person_minimal", "organisation_dump", "to_json"]
