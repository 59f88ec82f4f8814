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
    "notifications_discord_userid", "desktop_login", "data", "email", "position", "seniority",
    "contract_type",
)
# Fields an admin may also set.
ADMIN_WRITABLE = SELF_WRITABLE + (
    "email", "role", "active", "archived", "contract_type", "position", "seniority",
    "daily_salary", "studio_id", "is_bot", "expiration_date", "shotgun_id", "last_presence",
    "has_avatar", "ldap_uid", "is_generated_from_ldap",
)


# What POST /data/persons accepts: the person's columns, its password and
# departments; other keys are refused like Zou's "invalid keyword argument".
CREATE_ACCEPTED = {c.key for c in Person.__table__.columns} | {
    "password", "departments", "full_name", "type", "preview_project_id", "preview_opened_at", "preview_open_until",
}


def normalise_person(p: Person) -> None:
    """Zou stores country codes upper-cased."""
    if p.country:
        p.country = p.country.strip().upper()[:2]


# Zou's key order of a serialised person (JSON clients diff it in tests).
PERSON_KEYS = (
    "first_name", "last_name", "email", "phone", "country", "contract_type", "active", "archived",
    "last_presence", "desktop_login", "totp_enabled", "email_otp_enabled", "fido_enabled",
    "preferred_two_factor_authentication", "shotgun_id", "timezone", "locale", "use_12_hour_clock",
    "display_date_format", "data", "role", "position", "seniority", "daily_salary", "has_avatar",
    "notifications_enabled", "notifications_slack_enabled", "notifications_slack_userid",
    "notifications_mattermost_enabled", "notifications_mattermost_userid", "notifications_discord_enabled",
    "notifications_discord_userid", "is_bot", "is_guest", "preview_project_id", "preview_opened_at",
    "preview_open_until", "expiration_date", "is_generated_from_ldap", "ldap_uid", "studio_id",
)


def person_full(p: Person, relations: bool = True) -> dict:
    """Zou's ``serialize_safe``: every public column, never a secret (those
    live in ``credential``); ``departments`` (last) with relations. Preview
    accounts do not exist here: their three fields are always null."""
    row = row_dict(p)
    doc = {k: row.get(k) for k in PERSON_KEYS}
    doc["full_name"] = p.full_name
    doc.update({"id": row["id"], "created_at": row["created_at"], "updated_at": row["updated_at"], "type": "Person"})
    if relations:
        doc["departments"] = [d.id for d in p.departments]
    return doc


def person_minimal(p: Person, relations: bool = True) -> dict:
    """Zou's ``present_minimal``: 12 keys, no email; ``departments`` is empty
    without relations."""
    return {
        "id": p.id,
        "type": "Person",
        "first_name": p.first_name,
        "last_name": p.last_name,
        "full_name": p.full_name,
        "has_avatar": p.has_avatar,
        "active": p.active,
        "departments": [d.id for d in p.departments] if relations else [],
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


def person_for(reader_role: str | None, p: Person, relations: bool | None = None) -> dict:
    """One person as ``GET /data/persons/<id>`` shows it to a reader."""
    if reader_role in ("admin", "manager"):
        return person_full(p, relations=relations is not False)
    if reader_role == "client":
        return person_client(p)
    return person_minimal(p, relations=relations is not False)


def person_in_list(reader_role: str | None, p: Person, relations: bool = False) -> dict:
    """One person in ``GET /data/persons``: admins get full rows (departments
    only with ``?relations=true``), others the minimal view."""
    if reader_role == "admin":
        return person_full(p, relations=relations)
    if reader_role == "client":
        return person_client(p)
    return person_minimal(p, relations=relations)


def organisation_dump(o, sensitive: bool) -> dict:
    doc = row_dict(o, type_name="Organisation")
    if not sensitive:
        for key in ("chat_token_slack", "chat_webhook_mattermost", "chat_token_discord"):
            doc.pop(key, None)
    return doc


__all__ = ["person_for", "person_in_list", "person_full", "person_minimal", "organisation_dump", "to_json"]
