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
