"""Zou's conventions for ``/data/<model>`` lists and rows, on SQLAlchemy models.

- ``?col=value`` filters on a column, cast to its type (bad UUID/bool/int → 400);
  ``?name=`` is a case-insensitive ILIKE; a value starting with ``[`` is a JSON
  list and becomes IN; unknown parameters are ignored; forbidden columns → 400.
- ``?page=N&limit=M`` returns ``{data, total, nb_pages, limit, offset, page}``
  ordered by ``updated_at desc, created_at desc, id``; no page → a plain list.
  ``limit`` is clamped to ``MAX_PAGE_SIZE``.
- ``?fields=a,b`` keeps only those attributes (plus ``id`` and ``type``).

Also: the base columns every model has, and JSON-safe serialisation
(ids and dates as strings, as Zou's API shows them).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, String, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .errors import Invalid

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000
RESERVED = {"page", "limit", "relations", "fields", "force", "offset", "sort_by", "stream", "compact"}


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class BaseColumns:
    """``id``, ``created_at``, ``updated_at`` as Zou has them on every table."""

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, onupdate=now, nullable=False)


def to_json(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_json(v) for v in value]
    return str(value)


def row_dict(obj, hidden: Iterable[str] = (), type_name: str | None = None) -> dict:
    """Serialise a mapped object's columns (not relationships)."""
    hidden = set(hidden)
    out = {}
    for col in obj.__table__.columns:
        if col.key in hidden:
            continue
        out[col.key] = to_json(getattr(obj, col.key))
    if type_name:
        out["type"] = type_name
    return out


def select_fields(doc: dict, fields: str | None) -> dict:
    if not fields:
        return doc
    keep = {f.strip() for f in fields.split(",") if f.strip()} | {"id", "type"}
    return {k: v for k, v in doc.items() if k in keep}


def cast(column, raw: Any) -> Any:
    """Cast a query-string value to a column's Python type or raise Invalid."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.lower() in ("null", "none") and column.nullable:
        return None
    ctype = column.type
    try:
        if isinstance(ctype, UUID):
            return str(uuid.UUID(str(raw)))
        if isinstance(ctype, Boolean):
            if isinstance(raw, bool):
                return raw
            low = str(raw).lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError(raw)
        if isinstance(ctype, Integer):
            return int(raw)
        if isinstance(ctype, (Float, Numeric)):
            return float(raw)
        if isinstance(ctype, DateTime):
            return dt.datetime.fromisoformat(str(raw))
        if isinstance(ctype, Date):
            return dt.date.fromisoformat(str(raw)[:10])
    except (ValueError, TypeError):
        raise Invalid(f"Invalid value for {column.key}: {raw}") from None
    return raw


def apply_filters(stmt, model, query: dict | None, forbidden: Iterable[str] = ()):
    """Zou's list filters; returns the narrowed statement."""
    forbidden = set(forbidden)
    columns = model.__table__.columns
    for key, raw in (query or {}).items():
        if key in RESERVED or key not in columns:
            continue
        if key in forbidden:
            raise Invalid(f"Filtering on {key} is not allowed")
        col = getattr(model, key)
        column = columns[key]
        if isinstance(raw, str) and raw.startswith("["):
            try:
                values = json.loads(raw)
            except ValueError:
                raise Invalid(f"Invalid list for {key}") from None
            if not isinstance(values, list):
                raise Invalid(f"Invalid list for {key}")
            stmt = stmt.where(col.in_([cast(column, v) for v in values]))
            continue
        value = cast(column, raw)
        if value is None:
            stmt = stmt.where(col.is_(None))
        elif key == "name" and isinstance(column.type, (String, Text)):
            stmt = stmt.where(col.ilike(value))
        elif isinstance(column.type, JSONB):
            continue
        else:
            stmt = stmt.where(col == value)
    return stmt


def page_args(query: dict | None) -> tuple[int | None, int]:
    query = query or {}
    page = query.get("page")
    try:
        page = int(page) if page not in (None, "", "-1") else None
        limit = int(query.get("limit") or DEFAULT_PAGE_SIZE)
    except (TypeError, ValueError):
        raise Invalid("page and limit must be integers") from None
    if page is not None and page < 1:
        page = 1
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    return page, limit


def list_rows(session, model, stmt, query: dict | None, dump) -> list | dict:
    """Run a list statement with Zou's paging; ``dump`` serialises a row."""
    page, limit = page_args(query)
    fields = (query or {}).get("fields")
    if page is None:
        if "limit" in (query or {}):
            stmt = stmt.limit(limit)
        return [select_fields(dump(o), fields) for o in session.scalars(stmt)]
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    offset = (page - 1) * limit
    ordered = stmt.order_by(None).order_by(
        model.updated_at.desc(), model.created_at.desc(), model.id
    )
    rows = session.scalars(ordered.offset(offset).limit(limit))
    return {
        "data": [select_fields(dump(o), fields) for o in rows],
        "total": total,
        "nb_pages": int(math.ceil(total / float(limit))) if total else 0,
        "limit": limit,
        "offset": offset,
        "page": page,
    }


def valid_uuid(value: Any, what: str = "id") -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise Invalid(f"Invalid {what}: {value}") from None


def apply_body(obj, body: dict, writable: Iterable[str]) -> None:
    """Set allow-listed attributes from a JSON body, cast to column types."""
    columns = obj.__table__.columns
    for key in writable:
        if key in body:
            value = body[key]
            column = columns[key] if key in columns else None
            if column is not None and value is not None and not isinstance(column.type, JSONB):
                if isinstance(column.type, (String, Text)):
                    if not isinstance(value, str):
                        raise Invalid(f"Invalid value for {key}")
                else:
                    value = cast(column, value)
            setattr(obj, key, value)
