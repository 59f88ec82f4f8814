"""Alembic environment of the auth service (schema ``auth``)."""

from slate_auth.models import metadata
from slatekit.migrate import run_env

run_env("auth", metadata)
