"""Alembic environment of the files service (schema ``files``)."""

from slate_files.models import metadata
from slatekit.migrate import run_env

run_env("files", metadata)
