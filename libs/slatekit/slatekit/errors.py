"""The error taxonomy every service raises and the gateway maps to HTTP.

Services declare ``expected_exceptions=SLATE_ERRORS`` on their RPC entrypoints
so nameko does not log them as crashes; only the gateway turns them into status
codes (``HTTP_STATUS``). Messages are for users: specific, never SQL.
"""

from __future__ import annotations

import json


class SlateError(Exception):
    """Base of every expected error. ``message`` is safe to show a client."""

    status = 400

    def __init__(self, message: str = "", extra: dict | None = None):
        # Both travel in ``args`` so a nameko error reply carries them. The
        # extra dict goes as JSON text: nameko's safe_for_serialization would
        # turn True/False/None inside it into the strings "True"/"False"/"None".
        super().__init__(message, json.dumps(extra or {}, default=str))
        self.message = message or self.__class__.__name__
        self.extra = extra or {}


class Invalid(SlateError):
    """Bad input: a missing or malformed field, a wrong parent, a bad filter."""

    status = 400


class Unauthenticated(SlateError):
    """No identity, or a wrong, expired or revoked credential."""

    status = 401


class Forbidden(SlateError):
    """The caller is known but may not do this."""

    status = 403


class NotFound(SlateError):
    status = 404


class Conflict(SlateError):
    """A uniqueness or state conflict. Zou answers most of these with 400."""

    status = 400


class TooLarge(SlateError):
    status = 413


class Locked(SlateError):
    """Too many failed attempts; try later."""

    status = 400


class RateLimited(SlateError):
    status = 429


class Unavailable(SlateError):
    """A dependency (service, broker, database) cannot answer now."""

    status = 503


SLATE_ERRORS = (SlateError,)

BY_NAME = {
    cls.__name__: cls
    for cls in (
        SlateError,
        Invalid,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        TooLarge,
        Locked,
        RateLimited,
        Unavailable,
    )
}


def from_remote(exc_type: str, message: str, extra: dict | None = None) -> SlateError | None:
    """Rebuild a taxonomy error from a nameko RPC error reply (or None)."""
    cls = BY_NAME.get(exc_type)
    if cls is None:
        return None
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            extra = None
    return cls(message, extra if isinstance(extra, dict) else None)
