"""Zou's error bodies for auth, built from the shared taxonomy (no new classes:
the gateway maps errors by class name)."""

from __future__ import annotations

from slatekit.errors import Invalid, NotFound


def validation_error(problems: list[tuple[str, str]]) -> Invalid:
    """Zou's pydantic body: ``{"message": "Validation error.", "data": {"errors": [...]}}``."""
    return Invalid(
        "Validation error.",
        {"data": {"errors": [{"field": field, "message": message} for field, message in problems]}},
    )


def missing_field(field: str) -> Invalid:
    """Zou's CRUD body names no field."""
    return Invalid("A required field is missing.")


# Zou answers an unknown id with werkzeug's generic 404 text.
NOT_FOUND = (
    "404 Not Found: The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again."
)


def not_found() -> NotFound:
    return NotFound(NOT_FOUND)


def malformed_id() -> Invalid:
    return Invalid("Malformed ID.", {"data": None})


def wrong_otp(message: str = "OTP verification failed.") -> Invalid:
    return Invalid(message, {"wrong_OTP": True})
