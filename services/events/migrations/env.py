"""Alembic environment of the events service (schema ``events``)."""

from slate_events.models import metadata
from slatekit.migrate import run_env

run_env("events", metadata)
