"""Alembic environment of the notifications service (schema ``notifications``)."""

from slate_notifications.models import metadata
from slatekit.migrate import run_env

run_env("notifications", metadata)
