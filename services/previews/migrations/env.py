"""Alembic environment of the previews service (schema ``previews``)."""

from slate_previews.models import metadata
from slatekit.migrate import run_env

run_env("previews", metadata)
