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


def _off_hub(fn, *args):
    """Run a bcrypt call (~0.2 s of C that releases the GIL) in a native
    thread when eventlet drives the process: the hub keeps serving other
    calls meanwhile and concurrent logins use every core."""
    try:
        from eventlet import patcher, tpool
    except ImportError:  # plain Python (scripts, unit tests without eventlet)
        return fn(*args)
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args)
    return fn(*args)


def hash_password(password: str) -> bytes:
    return _off_hub(bcrypt.hashpw, password.encode("utf-8"), bcrypt.gensalt(rounds=12))


def check_password(password: str, hashed: bytes | None) -> bool:
    """Constant work whether or not there is a hash."""
    candidate = password.encode("utf-8")[:72]
    if not hashed:
        _off_hub(bcrypt.checkpw, candidate, _DUMMY_HASH)
        return False
    try:
        return _off_hub(bcrypt.checkpw, candidate, bytes(hashed))
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
    now = dt.datetime.now(dt.UTC)
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


# ---------------------------------------------------------------- emails
def normalize_email(value) -> str:
    """Zou's checks on an address, with its messages; returns it lower-cased.

    Raises ValueError with a user-facing message."""
    if not isinstance(value, str):
        raise ValueError("An email address must be a string.")
    email = value.strip()
    if "@" not in email:
        raise ValueError("An email address must have an @-sign.")
    local, _, domain_part = email.rpartition("@")
    if not local:
        raise ValueError("There must be something before the @-sign.")
    if not domain_part:
        raise ValueError("There must be something after the @-sign.")
    if any(c.isspace() for c in local):
        raise ValueError("The email address contains invalid characters before the @-sign: SPACE.")
    if any(c.isspace() for c in domain_part) or "@" in local:
        raise ValueError("The part after the @-sign contains invalid characters.")
    return email.lower()


# ---------------------------------------------------------------- second factor
RECOVERY_CODE_COUNT = 16
RECOVERY_CODE_LENGTH = 10
_RECOVERY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Recovery codes carry ~51 bits of randomness each: a lighter bcrypt cost than
# passwords keeps enabling 2FA (16 hashes) fast without making them guessable.
RECOVERY_CODE_ROUNDS = 8
TWO_FACTOR_FALLBACKS = {
    "totp": ("fido", "email_otp"),
    "email_otp": ("fido", "totp"),
    "fido": ("totp", "email_otp"),
}


def new_recovery_codes() -> list[str]:
    return [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def hash_recovery_codes(codes: list[str]) -> list[bytes]:
    return [_off_hub(bcrypt.hashpw, c.encode(), bcrypt.gensalt(rounds=RECOVERY_CODE_ROUNDS)) for c in codes]


def match_recovery_code(code: str, hashes: list[bytes] | None) -> int | None:
    """Index of the stored hash matching ``code`` (to remove it: single use)."""
    if not isinstance(code, str) or not code or not hashes:
        return None
    candidate = code.strip().upper().encode()[:72]
    for i, h in enumerate(hashes):
        try:
            if _off_hub(bcrypt.checkpw, candidate, bytes(h)):
                return i
        except ValueError:
            continue
    return None


def enabled_methods(totp: bool, email_otp: bool, fido: bool) -> list[str]:
    """Zou's ``two_factor_authentication_enabled`` list."""
    methods = ["recovery_code"]
    if totp:
        methods.append("totp")
    if email_otp:
        methods.append("email_otp")
    if fido:
        methods.append("fido")
    return methods


def preferred_after_disable(preferred: str | None, disabled: str, enabled: dict) -> str | None:
    """The preferred method once ``disabled`` is turned off (``enabled``: method → bool)."""
    if not any(enabled.values()):
        return None
    if preferred != disabled:
        return preferred
    for fallback in TWO_FACTOR_FALLBACKS[disabled]:
        if enabled.get(fallback):
            return fallback
    return None


def pkce_challenge(verifier: str) -> str:
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def new_reset_token() -> str:
    """Zou's 64-character upper-case alphanumeric reset token."""
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(64))


# ---------------------------------------------------------------- calendar
def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    import calendar

    if not 1 <= month <= 12:
        raise ValueError("month")
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, 1), dt.date(year, month, last)


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def week_bounds(year: int, week: int) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisocalendar(year, week, 1)
    return start, start + dt.timedelta(days=6)


def presence_rows(year: int, month: int, persons: list[tuple[str, str]], logs: dict[str, list[dt.datetime]]) -> list[list[str]]:
    """Zou's presence sheet: a header of day numbers, one row per person with
    ``X`` on each day they logged in from the desktop."""
    import calendar

    days = calendar.monthrange(year, month)[1]
    rows = [[str(year)] + [str(d) for d in range(1, days + 1)]]
    for person_id, full_name in persons:
        row = [full_name] + [""] * days
        for when in logs.get(person_id, []):
            if when.year == year and when.month == month:
                row[when.day] = "X"
        rows.append(row)
    return rows
