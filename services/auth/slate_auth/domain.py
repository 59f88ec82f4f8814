"""Rules of identity, in plain Python: password hashing and policy, lockout,
token claims. No nameko, no session."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid

import bcrypt
import jwt

ROLES = ("admin", "manager", "supervisor", "user", "client", "vendor")
CONTRACT_TYPES = ("open-ended", "fixed-term", "short-term", "freelance", "apprentice", "internship")
MIN_PASSWORD_LENGTH = 8
# A valid bcrypt hash of a random string: unknown emails are checked against it
# so they take as long as known ones (no enumeration by timing).
_DUMMY_HASH = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=12))


def hash_password(password: str) -> bytes:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=12))


def check_password(password: str, hashed: bytes | None) -> bool:
    """Constant work whether or not there is a hash."""
    candidate = password.encode("utf-8")[:72]
    if not hashed:
        bcrypt.checkpw(candidate, _DUMMY_HASH)
        return False
    try:
        return bcrypt.checkpw(candidate, bytes(hashed))
    except ValueError:
        return False


def password_problem(password: str | None) -> str | None:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return "Password is too short."
    if len(password.encode("utf-8")) > 72:
        return "Password is too long."
    return None


def is_locked(failed: int, last_failed: dt.datetime | None, now: dt.datetime, attempts: int, seconds: int) -> bool:
    return bool(
        failed >= attempts and last_failed is not None and (now - last_failed).total_seconds() < seconds
    )


def after_failure(failed: int, last_failed: dt.datetime | None, now: dt.datetime, attempts: int, seconds: int) -> int:
    """The new failure count: a lock window that has passed starts over."""
    if failed >= attempts and last_failed is not None and (now - last_failed).total_seconds() >= seconds:
        failed = 0
    return failed + 1


def make_token(
    secret: str,
    person_id: str,
    token_type: str,
    minutes: int,
    sid: str,
    identity_type: str = "person",
    extra: dict | None = None,
) -> tuple[str, dict]:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {
        "fresh": False,
        "iat": now,
        "nbf": now,
        "jti": str(uuid.uuid4()),
        "type": token_type,
        "sub": person_id,
        "sid": sid,
        "identity_type": identity_type,
        "exp": now + dt.timedelta(minutes=minutes),
    }
    if extra:
        claims.update(extra)
    return jwt.encode(claims, secret, algorithm="HS256"), claims


def new_session_id() -> str:
    return secrets.token_hex(16)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
