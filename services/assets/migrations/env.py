"""Alembic environment of the assets service (schema ``assets``)."""

from slate_assets.models import metadata
from slatekit.migrate import run_env

run_env("assets", metadata)
