"""Token checks at the edge: signature, type, revocation, principal.

Revocation is a Redis key per logged-out session id, read on each request
(no RPC). The principal (role, active) is fetched from auth over RPC and
cached a few seconds per process, so a deactivated person is refused within
that time.

Errors come back in the shapes Zou's flask-jwt-extended gives them (measured
in docs/zou-notes/auth.md): ``{"msg": ...}`` with 401 for a missing or
revoked token and 422 for a malformed one, except an expired token, which is
``{"error": true, "message": "Signature has expired"}`` — gazu refreshes on
that exact text and on nothing else.
"""

from __future__ import annotations

import threading
import time

import jwt
import redis
from slatekit import config
from slatekit.errors import Forbidden, Unauthenticated, Unavailable

_redis = None
_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()
PRINCIPAL_TTL = 5.0


REVOKED = "Token has been revoked"
EXPIRED = "Signature has expired"
UNAUTHORIZED = (
    "The server could not verify that you are authorized to access the URL requested. You either supplied "
    "the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the "
    "credentials required."
)
FORBIDDEN = (
    "You don't have the permission to access the requested resource. It is either read-protected or not "
    "readable by the server."
)


class TokenError(Exception):
    """A credential problem answered with a fixed status and body."""

    def __init__(self, status: int, body: dict):
        super().__init__(body)
        self.status = status
        self.body = body


def _missing(cookie: str, header_problem: str) -> TokenError:
    return TokenError(401, {"msg": f'Missing JWT in cookies or headers (Missing cookie "{cookie}"; {header_problem})'})


def find_token(header: str | None, cookie_value: str | None, cookie: str) -> tuple[str, bool]:
    """The token and whether it came from the cookie. Like Zou, the cookie is
    tried first and the header next; a malformed header is a 422."""
    if cookie_value:
        return cookie_value, True
    if not header:
        raise _missing(cookie, "Missing Authorization Header")
    parts = header.split()
    if not parts or parts[0] != "Bearer":
        raise _missing(cookie, "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'")
    if len(parts) != 2:
        raise TokenError(422, {"msg": "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"})
    return parts[1], False


def redis_client():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(config.get("REDIS_URL"), socket_timeout=2, socket_connect_timeout=2)
    return _redis


def decode(token: str, expected_type: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            config.secret_key(),
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "jti", "type"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError(401, {"error": True, "message": EXPIRED}) from None
    except jwt.PyJWTError as exc:
        raise TokenError(422, {"msg": str(exc) or "Invalid token"}) from None
    if claims.get("type") != expected_type:
        wanted = "refresh" if expected_type == "refresh" else "non-refresh"
        raise TokenError(422, {"msg": f"Only {wanted} tokens are allowed"})
    sid = claims.get("sid")
    if sid:
        try:
            revoked = redis_client().exists(f"slate:revoked:{sid}")
        except redis.RedisError:
            raise Unavailable("Token store unavailable") from None
        if revoked:
            raise TokenError(401, {"msg": REVOKED})
    return claims


def principal(person_id: str, fetch) -> dict:
    """Role and status of a caller; ``fetch(person_id)`` asks auth."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(person_id)
    if hit and now - hit[0] < PRINCIPAL_TTL:
        doc = hit[1]
    else:
        doc = fetch(person_id)
        with _lock:
            if len(_cache) > 50000:
                _cache.clear()
            _cache[person_id] = (now, doc)
    if not doc.get("active") or doc.get("is_guest"):
        # A guest of a shared link has no credential and is never issued a
        # token; should one exist anyway, it opens nothing (guests act only
        # through /shared/playlists/<token>/..., which take no token).
        raise Unauthenticated(UNAUTHORIZED)
    return doc


def forget(person_id: str) -> None:
    with _lock:
        _cache.pop(person_id, None)


def check_role(role: str, allowed) -> None:
    if allowed == "public" or role in allowed:
        return
    raise Forbidden(FORBIDDEN)


# Zou's ENFORCE_2FA: a restricted session may only reach the setup routes.
TWO_FA_SETUP_PATHS = frozenset({
    "/auth/totp", "/auth/email-otp", "/auth/fido", "/auth/recovery-codes",
    "/auth/login", "/auth/logout", "/auth/authenticated", "/auth/refresh-token",
})


def check_2fa_setup(claims: dict, route_path: str) -> None:
    """Refuse a restricted session (``requires_2fa_setup`` claim whose session
    is still marked in Redis by auth) everywhere but the 2FA setup routes."""
    if not claims.get("requires_2fa_setup") or route_path in TWO_FA_SETUP_PATHS:
        return
    sid = claims.get("sid")
    try:
        still_restricted = bool(sid) and bool(redis_client().exists(f"slate:2fa-setup:{sid}"))
    except redis.RedisError:
        raise Unavailable("Token store unavailable") from None
    if still_restricted:
        raise Forbidden(
            "Two-factor authentication setup is required. Please configure 2FA before accessing the API.",
            {"two_factor_authentication_required": True},
        )
