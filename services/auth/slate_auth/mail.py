"""Outgoing mail: SMTP when ``SMTP_HOST`` is set, else a log line (dev, tests).

Links are built from ``DOMAIN_PROTOCOL``/``DOMAIN_NAME``, never from a request's
Host header (a forged Host would otherwise point reset links at an attacker).
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from slatekit import config

log = logging.getLogger(__name__)


def public_url(path: str) -> str:
    protocol = config.get("DOMAIN_PROTOCOL") or "http"
    domain = config.get("DOMAIN_NAME") or "localhost:8080"
    return f"{protocol}://{domain}{path}"


def allow(kind: str, target: str, limit: int, window_seconds: int) -> bool:
    """Per-target cap on a kind of mail (reset, invitation, OTP): mail is a
    cost and a nuisance an attacker could aim at someone's inbox."""
    from . import redis_store

    key = f"slate:auth:mail-cap:{kind}:{target.lower()}"
    r = redis_store.client()
    count = r.incr(key)
    if count == 1:
        r.expire(key, window_seconds)
    return count <= limit


def send(to: str, subject: str, body: str) -> None:
    host = config.get("SMTP_HOST")
    if not host:
        log.info("mail (no SMTP_HOST) to=%s subject=%s body=%s", to, subject, body)
        return
    msg = EmailMessage()
    msg["From"] = config.get("MAIL_FROM")
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(host, config.get_int("SMTP_PORT") or 25, timeout=10) as smtp:
            if config.get("SMTP_USER"):
                smtp.starttls()
                smtp.login(config.get("SMTP_USER"), config.get("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # A mail that cannot leave must not turn a public route into a 500
        # (nor tell an address apart from another by the error).
        log.warning("mail to %s failed: %s", to, exc)
