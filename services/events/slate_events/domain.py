"""Rules of the events service in plain Python: which events persist, who may
see an event, how replay parameters read, webhook URL safety, signing and backoff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import socket
import uuid
from urllib.parse import urlsplit

from slatekit.errors import Invalid

# Zou emits these with persist=False: live signals, not history.
NOT_PERSISTED = {"main:test", "notification:new", "task:update-casting-stats", "comment:delete-reply",
                 "comment:unacknowledge", "chat:joined", "chat:left", "chat:new-message", "chat:deleted-message"}
NOT_PERSISTED_PREFIXES = ("preview-room:",)
ONLY_FILES = ("preview-file:add-file", "organisation:set-thumbnail", "person:set-thumbnail", "project:set-thumbnail")
# Events meant for one person (their id in data.person_id): only that person's
# sockets receive them, whatever the project.
PERSONAL_PREFIXES = ("notification:",)
NAME_PART = re.compile(r"[a-z0-9-]+")
SEES_ALL = {"admin"}


def persisted(name: str) -> bool:
    return name not in NOT_PERSISTED and not name.startswith(NOT_PERSISTED_PREFIXES)


def is_personal(name: str) -> bool:
    return name.startswith(PERSONAL_PREFIXES)


def rooms_for(event: dict) -> list[str]:
    """Socket.io rooms an event goes to. Project events: that project's room
    (admins join every project room through ``all-projects``); personal events:
    the person's room; other global events: every authenticated client."""
    name = event.get("name") or ""
    data = event.get("data") or {}
    project_id = event.get("project_id") or data.get("project_id")
    if is_personal(name):
        person_id = data.get("person_id")
        return [f"person:{person_id}"] if person_id else []
    if project_id:
        return [f"project:{project_id}", "all-projects"]
    return ["global"]


def rooms_of(role: str, person_id: str, project_ids) -> set[str]:
    """Rooms a connected person joins (R27: a member of A never joins B)."""
    rooms = {"global", f"person:{person_id}"}
    if role in SEES_ALL:
        rooms.add("all-projects")
    else:
        rooms.update(f"project:{p}" for p in project_ids)
    return rooms


def socket_payload(event: dict) -> dict:
    """What Zou's clients receive: ``data`` with ``project_id``, plus the id and
    time a client needs to drop duplicates and to resume from."""
    data = dict(event.get("data") or {})
    data.setdefault("project_id", event.get("project_id"))
    data["event_id"] = event.get("event_id")
    data["occurred_at"] = event.get("occurred_at")
    return data


def parse_date(value, what: str):
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"Wrong date format for {what} argument.Expected format: 2020-01-05T13:23:10 or 2020-01-05",
            {"data": None},
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def parse_uuid(value, what: str):
    if value in (None, ""):
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Invalid(f"The {what} parameter is not a valid id") from None


def parse_limit(value, default: int = 100, cap: int = 1000) -> int:
    if value in (None, ""):
        return default
    try:
        return max(1, min(int(value), cap))
    except (TypeError, ValueError):
        raise Invalid("The limit parameter must be an integer") from None


def check_name_parts(values, what: str) -> list[str]:
    for v in values:
        if not NAME_PART.fullmatch(v or ""):
            raise Invalid(f"The {what} parameter contains an invalid value")
    return list(values)


def as_list(value) -> list:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    text = str(value)
    if text.startswith("["):
        import json

        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        except ValueError:
            pass
    return [v for v in text.split(",") if v]


# ------------------------------------------------------------------ webhooks
def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def parse_networks(spec: str | None) -> list:
    nets = []
    for part in (spec or "").split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return nets


def check_url(url, allowed_networks=(), resolve=_resolve) -> tuple[str, list[str]]:
    """Refuse a URL that is not http(s) or whose host resolves to a loopback,
    private, link-local, reserved or multicast address (unless inside an
    operator-allowed network). Returns (url, resolved addresses) so the sender
    connects to an address it checked (no DNS rebinding between check and use)."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise Invalid("A webhook URL is required", {"field": "url"})
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid("Invalid webhook URL", {"field": "url"}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("Webhook URLs must be http or https", {"field": "url"})
    if parts.username or parts.password:
        raise Invalid("Webhook URLs may not carry credentials", {"field": "url"})
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise Invalid("The webhook host does not resolve", {"field": "url"}) from None
    if not addresses:
        raise Invalid("The webhook host does not resolve", {"field": "url"})
    for addr in addresses:
        ip = ipaddress.ip_address(addr)
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if any(ip in net for net in allowed_networks):
            continue
        if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_private:
            raise Invalid("The webhook URL points at a loopback, private or link-local address", {"field": "url"})
    return url, addresses


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff_seconds(attempts: int, base: float, cap: float = 3600.0) -> float:
    """Delay before attempt ``attempts + 1``: base × 2^(attempts-1), capped."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


def webhook_matches(event_names: list, name: str) -> bool:
    for pattern in event_names or []:
        if pattern in ("*", name):
            return True
        if pattern.endswith(":*") and name.startswith(pattern[:-1]):
            return True
    return False
