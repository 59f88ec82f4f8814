"""Database access: one schema and one login role per service.

A service's URL is ``<SERVICE>_DATABASE_URL`` when set, otherwise the admin
``DATABASE_URL`` with the user replaced by ``slate_<service>``; the schema is
put first on the ``search_path`` so a service's queries never name it.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from . import config


def role_name(service: str) -> str:
    return f"slate_{service}"


def admin_url() -> str:
    return config.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/slate"


def normalize(url: str) -> str:
    """Pin the psycopg2 driver (SQLAlchemy 2.1 defaults ``postgresql://`` to psycopg 3)."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg2")
    return u.render_as_string(hide_password=False)


def service_url(service: str) -> str:
    own = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return normalize(own)
    url = make_url(normalize(admin_url())).set(username=role_name(service))
    password = os.environ.get("SERVICE_DB_PASSWORD")
    url = url.set(password=password) if password else url.set(password=None)
    return url.render_as_string(hide_password=False)


_ENGINES: dict[tuple[str, str], Engine] = {}


def pool_size() -> int:
    """``DB_POOL_SIZE``, else one connection per worker plus the relay, its
    listener and timers: fewer would make every extra user open and close a
    connection of its own."""
    configured = config.get("DB_POOL_SIZE")
    if configured:
        return int(configured)
    return int(config.get("MAX_WORKERS") or 10) + 4


def engine_for(service: str, url: str | None = None) -> Engine:
    url = url or service_url(service)
    key = (service, url)
    eng = _ENGINES.get(key)
    if eng is None:
        eng = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size(),
            max_overflow=10,
            pool_recycle=1800,
            connect_args={"options": f"-csearch_path={service},public", "connect_timeout": 5},
        )
        _ENGINES[key] = eng
    return eng


def reset_engines() -> None:
    for eng in _ENGINES.values():
        eng.dispose()
    _ENGINES.clear()
