"""Token checks at the edge: signature, type, revocation, principal.

Revocation is a Redis key per logged-out session id, read on each request
(no RPC). The principal (role, active) is fetched from auth over RPC and
cached a few seconds per process, so a deactivated person is refused within
that time.
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
        raise Unauthenticated("Token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("Invalid token") from None
    if claims.get("type") != expected_type:
        raise Unauthenticated(f"Only {expected_type} tokens are allowed")
    sid = claims.get("sid")
    if sid:
        try:
            revoked = redis_client().exists(f"slate:revoked:{sid}")
        except redis.RedisError:
            raise Unavailable("Token store unavailable") from None
        if revoked:
            raise Unauthenticated("Token has been revoked")
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
    if not doc.get("active"):
        raise Unauthenticated("User is inactive")
    return doc


def forget(person_id: str) -> None:
    with _lock:
        _cache.pop(person_id, None)


def check_role(role: str, allowed) -> None:
    if allowed == "public" or role in allowed:
        return
    raise Forbidden("You are not allowed to do this")
