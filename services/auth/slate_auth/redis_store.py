"""The session blocklist in Redis, read by every gateway process on each
request (no RPC): a logged-out session id is refused everywhere at once."""

from __future__ import annotations

import redis
from slatekit import config

_client = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(config.get("REDIS_URL"), socket_timeout=2, socket_connect_timeout=2)
    return _client


def revoke_session(sid: str, ttl_seconds: int) -> None:
    client().set(f"slate:revoked:{sid}", "1", ex=max(1, int(ttl_seconds)))


# Short-lived secrets shared by every replica: password-reset tokens, email
# OTP counters, app-login codes, WebAuthn ceremony states.
def put(key: str, value: str, ttl_seconds: int) -> None:
    client().set(f"slate:auth:{key}", value, ex=max(1, int(ttl_seconds)))


def get(key: str) -> str | None:
    value = client().get(f"slate:auth:{key}")
    return value.decode() if isinstance(value, bytes) else value


def take(key: str) -> str | None:
    """Read and delete at once: of two concurrent readers only one gets it."""
    value = client().getdel(f"slate:auth:{key}")
    return value.decode() if isinstance(value, bytes) else value


def drop(key: str) -> None:
    client().delete(f"slate:auth:{key}")
