"""Outside channels of a notification: e-mail (SMTP, when ``SMTP_HOST`` is
set) and chat webhooks (Slack, Mattermost) from the organisation's settings,
each only for people who enabled them. Best effort, after the commit: a mail
server or chat outage never blocks or repeats a notification. Every chat URL
goes through the SSRF guard, at send time, and is connected to at the
address that was checked.
"""

from __future__ import annotations

import logging
import smtplib
import time
from email.message import EmailMessage

import eventlet
import requests
from slatekit import config
from sqlalchemy import select

from . import domain
from .models import PPerson

log = logging.getLogger(__name__)
_org_cache: dict = {"at": 0.0, "doc": None}
TEXTS = {"comment": "commented on a task", "mention": "mentioned you", "reply": "replied to a comment",
         "reply-mention": "mentioned you in a reply", "assignation": "assigned you to a task",
         "playlist-ready": "shared a playlist ready for your review"}


def dispatch(service, sent: list) -> None:
    ids = list({n["person_id"] for n in sent})
    with service.store.session() as s:
        people = {p.id: p for p in s.scalars(select(PPerson).where(PPerson.id.in_(ids)))}
        authors = {p.id: p for p in s.scalars(select(PPerson).where(
            PPerson.id.in_([n.get("author_id") for n in sent if n.get("author_id")])))}
    for n in sent:
        person = people.get(n["person_id"])
        if person is None:
            continue
        author = authors.get(n.get("author_id"))
        who = f"{author.first_name or ''} {author.last_name or ''}".strip() if author else "Someone"
        text = f"{who} {TEXTS.get(n['type'], 'notified you')}"
        settings = person.settings or {}
        if config.get("SMTP_HOST") and settings.get("notifications_enabled") and person.email:
            eventlet.spawn_n(send_mail, person.email, f"[Kitsu] {text}", text)
        if settings.get("notifications_mattermost_enabled") or settings.get("notifications_slack_enabled"):
            org = organisation(service)
            if settings.get("notifications_mattermost_enabled") and org.get("chat_webhook_mattermost"):
                eventlet.spawn_n(post_chat, org["chat_webhook_mattermost"],
                                 {"channel": "@" + str(settings.get("notifications_mattermost_userid") or ""),
                                  "text": text, "username": "Kitsu"})
            if settings.get("notifications_slack_enabled") and org.get("chat_token_slack"):
                eventlet.spawn_n(post_chat, "https://slack.com/api/chat.postMessage",
                                 {"channel": settings.get("notifications_slack_userid"), "text": text},
                                 {"Authorization": "Bearer " + org["chat_token_slack"]})


def organisation(service) -> dict:
    if _org_cache["doc"] is not None and time.monotonic() - _org_cache["at"] < 60:
        return _org_cache["doc"]
    try:
        rows = service.services._pool.call("auth", "crud_list", {"model": "organisations", "query": {}},
                                      {"role": "admin"}, 10)
        doc = rows[0] if rows else {}
    except Exception:  # noqa: BLE001
        doc = {}
    _org_cache.update(at=time.monotonic(), doc=doc)
    return doc


def send_mail(to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = config.get("MAIL_FROM")
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(config.get("SMTP_HOST"), int(config.get("SMTP_PORT") or 25), timeout=10) as smtp:
            if config.get("SMTP_USER"):
                smtp.login(config.get("SMTP_USER"), config.get("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except Exception as exc:  # noqa: BLE001
        log.warning("notification mail not sent: %r", exc)


def post_chat(url: str, payload: dict, headers: dict | None = None) -> bool:
    try:
        _, addresses = domain.check_url(url, domain.parse_networks(config.get("WEBHOOK_ALLOWED_NETWORKS", "")))
    except Exception as exc:  # noqa: BLE001
        log.warning("chat webhook refused: %s", getattr(exc, "message", exc))
        return False
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    target, hdrs = url, dict(headers or {})
    if parts.scheme == "http":
        host = f"[{addresses[0]}]" if ":" in addresses[0] else addresses[0]
        target = urlunsplit(("http", f"{host}:{parts.port}" if parts.port else host, parts.path or "/", parts.query, ""))
        hdrs["Host"] = parts.netloc
    try:
        r = requests.post(target, json=payload, headers=hdrs, timeout=5, allow_redirects=False)
        return 200 <= r.status_code < 300
    except requests.RequestException as exc:
        log.warning("chat webhook failed: %r", exc)
        return False
