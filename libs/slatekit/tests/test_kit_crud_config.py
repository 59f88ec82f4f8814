"""Unit tests: Zou's list conventions (filters, casting, paging, fields) and
the secret-key guard. Statements are compiled, not run."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from slatekit import config
from slatekit.crud import (
    MAX_PAGE_SIZE,
    BaseColumns,
    apply_body,
    apply_filters,
    cast,
    page_args,
    row_dict,
    select_fields,
    to_json,
    valid_uuid,
)
from slatekit.errors import Invalid
from sqlalchemy import Boolean, Integer, String, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Thing(BaseColumns, Base):
    __tablename__ = "thing"
    name: Mapped[str] = mapped_column(String(80))
    project_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    secret: Mapped[str | None] = mapped_column(String(80), nullable=True)


def sql(stmt) -> str:
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def test_filters_cast_values_and_use_ilike_for_name():
    pid = str(uuid.uuid4())
    q = sql(apply_filters(select(Thing), Thing, {"project_id": pid, "active": "false", "rank": "3", "name": "Bob"}))
    assert f"thing.project_id = '{uuid.UUID(pid).hex}'" in q  # literal rendering drops dashes
    assert "thing.active = false" in q
    assert "thing.rank = 3" in q
    assert "thing.name ILIKE 'Bob'" in q


def test_json_list_filter_becomes_in_and_null_becomes_is_null():
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    q = sql(apply_filters(select(Thing), Thing, {"project_id": f'["{a}", "{b}"]'}))
    assert f"thing.project_id IN ('{uuid.UUID(a).hex}', '{uuid.UUID(b).hex}')" in q
    q = sql(apply_filters(select(Thing), Thing, {"project_id": "null"}))
    assert "thing.project_id IS NULL" in q


def test_unknown_and_reserved_parameters_are_ignored():
    base = sql(select(Thing))
    assert sql(apply_filters(select(Thing), Thing, {"page": "2", "limit": "5", "nope": "x", "relations": "true"})) == base


@pytest.mark.parametrize(
    "query",
    [{"project_id": "not-a-uuid"}, {"active": "maybe"}, {"rank": "three"}, {"project_id": "[not json"},
     {"project_id": '{"a": 1}'}, {"project_id": '["bad"]'}],
)
def test_bad_filter_values_are_invalid_not_server_errors(query):
    with pytest.raises(Invalid):
        apply_filters(select(Thing), Thing, query)


def test_forbidden_filter_column_is_refused():
    with pytest.raises(Invalid):
        apply_filters(select(Thing), Thing, {"secret": "x"}, forbidden=("secret",))


def test_page_args_defaults_clamps_and_validates():
    assert page_args({}) == (None, 100)
    assert page_args({"page": "2", "limit": "10"}) == (2, 10)
    assert page_args({"page": "0", "limit": "0"}) == (1, 1)
    assert page_args({"page": "-1"}) == (None, 100)
    assert page_args({"page": "1", "limit": str(10**9)}) == (1, MAX_PAGE_SIZE)
    with pytest.raises(Invalid):
        page_args({"page": "x"})


def test_cast_dates_and_nullable():
    col = Thing.__table__.c
    assert cast(col.created_at, "2024-01-31T10:11:12") == dt.datetime(2024, 1, 31, 10, 11, 12)
    assert cast(col.project_id, "None") is None
    assert cast(col.active, True) is True
    with pytest.raises(Invalid):
        cast(col.created_at, "yesterday")


def test_serialisation_is_json_safe_and_fields_selection_keeps_id_and_type():
    t = Thing(id=str(uuid.uuid4()), name="x", created_at=dt.datetime(2024, 1, 31, 10, 11, 12, 999),
              updated_at=dt.datetime(2024, 1, 31), active=True, rank=1, data={"d": dt.date(2024, 2, 1)})
    doc = row_dict(t, hidden=("secret",), type_name="Thing")
    assert doc["created_at"] == "2024-01-31T10:11:12"
    assert doc["data"] == {"d": "2024-02-01"}
    assert "secret" not in doc and doc["type"] == "Thing"
    assert select_fields(doc, "name") == {"id": t.id, "type": "Thing", "name": "x"}
    assert to_json(uuid.UUID(int=0)) == "00000000-0000-0000-0000-000000000000"


def test_apply_body_sets_only_allowed_fields_with_types():
    t = Thing(name="a", rank=0, active=True)
    apply_body(t, {"name": "b", "rank": "4", "active": "false", "secret": "no"}, ("name", "rank", "active"))
    assert (t.name, t.rank, t.active, t.secret) == ("b", 4, False, None)
    with pytest.raises(Invalid):
        apply_body(t, {"name": 12}, ("name",))
    with pytest.raises(Invalid):
        apply_body(t, {"rank": "many"}, ("rank",))


def test_valid_uuid():
    u = str(uuid.uuid4())
    assert valid_uuid(u.upper()) == u
    with pytest.raises(Invalid):
        valid_uuid("../etc/passwd")
    with pytest.raises(Invalid):
        valid_uuid(None)


@pytest.mark.parametrize("value", ["", "changeme", "secret", "SECRET-KEY", "please-change-me", "short-key-15chr"])
def test_secret_key_refuses_empty_placeholder_and_short_values(monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", value)
    with pytest.raises(config.ConfigError):
        config.secret_key()


def test_secret_key_refuses_missing_value(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError):
        config.secret_key()


def test_secret_key_accepts_a_long_random_value(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 15 + "9f")
    assert config.secret_key() == "k" * 15 + "9f"
