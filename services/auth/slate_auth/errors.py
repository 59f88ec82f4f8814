"""Zou's error bodies for auth, built from the shared taxonomy (no new classes:
the gateway maps errors by class name)."""

from __future__ import annotations

from slatekit.errors import Invalid


def validation_error(problems: list[tuple[str, str]]) -> Invalid:
    """Zou's pydantic body: ``{"message": "Validation error.", "data": {"errors": [...]}}``."""
    return Invalid(
        "Validation error.",
        {"data": {"errors": [{"field": field, "message": message} for field, message in problems]}},
    )


def missing_field(field: str) -> Invalid:
    return Invalid("A required field is missing.", {"field": field})


def malformed_id() -> Invalid:
    return Invalid("Malformed ID.", {"data": None})


def wrong_otp(message: str = "OTP verification failed.") -> Invalid:
    return Invalid(message, {"wrong_OTP": True})
