"""Create each service's login role and schema, then run its alembic migrations.

Run as an explicit step (``make migrate``, a Kubernetes Job), never at a
replica's start-up. Usage: ``python -m slatekit.migrate services/auth [...]``
or ``--all`` to migrate every service under ``services/``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import make_url

from . import db

ROOT = Path(__file__).resolve().parents[3]


def _connect(url: str, dbname: str | None = None):
    u = make_url(url)
    return psycopg2.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        dbname=dbname or u.database,
    )


def ensure_database(admin: str) -> None:
    name = make_url(admin).database
    conn = _connect(admin, "postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


def ensure_schema(admin: str, service: str) -> None:
    """A login role ``slate_<service>`` owning schema ``<service>``, and nothing else."""
    role = db.role_name(service)
    password = os.environ.get("SERVICE_DB_PASSWORD")
    conn = _connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if not cur.fetchone():
            try:
                if password:
                    cur.execute(
                        sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)),
                        (password,),
                    )
                else:
                    cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            except psycopg2.errors.DuplicateObject:
                pass  # created concurrently by another migrate run
        cur.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                sql.Identifier(service), sql.Identifier(role)
            )
        )
        dbname = make_url(admin).database
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(role)))
        cur.execute(sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
        cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(role)))
    conn.close()


def alembic_config(service_dir: Path, service: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.service_url(service).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service_dir: Path, revision: str = "head") -> None:
    from alembic import command

    service = service_dir.name
    command.upgrade(alembic_config(service_dir, service), revision)


def downgrade(service_dir: Path, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(service_dir, service_dir.name), revision)


def service_dirs() -> list[Path]:
    return sorted(p for p in (ROOT / "services").iterdir() if (p / "migrations" / "env.py").exists())


def migrate(dirs: list[Path]) -> None:
    admin = db.admin_url()
    ensure_database(admin)
    for d in dirs:
        ensure_schema(admin, d.name)
        upgrade(d)
        print(f"migrated {d.name}", file=sys.stderr)


def run_env(service: str, target_metadata) -> None:
    """Body of every service's ``migrations/env.py``."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url") or db.service_url(service)
    engine = create_engine(
        url, poolclass=pool.NullPool, connect_args={"options": f"-csearch_path={service}"}
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=service,
            include_schemas=False,
            include_object=lambda obj, name, type_, reflected, compare_to: name != "alembic_version",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    dirs = service_dirs() if args.all or not args.services else [Path(s).resolve() for s in args.services]
    migrate(dirs)


if __name__ == "__main__":
    main()
