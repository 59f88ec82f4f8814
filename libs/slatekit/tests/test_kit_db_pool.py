"""The connection pool holds one connection per worker plus the relay's."""

from slatekit import db


def test_default_pool_is_one_connection_per_worker_plus_the_relay_s(monkeypatch):
    monkeypatch.delenv("DB_POOL_SIZE", raising=False)
    monkeypatch.setenv("MAX_WORKERS", "7")
    assert db.pool_size() == 11
    monkeypatch.delenv("MAX_WORKERS", raising=False)
    assert db.pool_size() == 14


def test_db_pool_size_overrides(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    assert db.pool_size() == 3
