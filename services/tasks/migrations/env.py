"""Alembic environment of the tasks service (schema ``tasks``)."""

from slate_tasks.models import metadata
from slatekit.migrate import run_env

run_env("tasks", metadata)
