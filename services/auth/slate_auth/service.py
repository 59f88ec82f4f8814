"""Entrypoints of the auth service: login and tokens, people, organisation,
studios, departments, day-offs, search filters, login logs.

Every RPC called by the gateway takes its path parameters by name plus
``query`` (the query string as a dict) and ``body`` (the parsed JSON).
The caller (``user_id``, ``role``) comes from the context data.
"""

from __future__ import annotations

import datetime as dt
import logging

from nameko.rpc import rpc
from slatekit import config
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, Locked, NotFound, Unauthenticated
from slatekit.health import HealthMixin
from slatekit.store import Store
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from . import domain, redis_store, schemas
from .models import (
    Credential,
    DayOff,
    Department,
    DesktopLoginLog,
    LoginLog,
    Organisation,
    Person,
    RevokedSession,
    SearchFilter,
    SearchFilterGroup,
    Studio,
    metadata,
)

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}

# model name in /data/<model> → (class, event prefix, type name)
CRUD = {
    "persons": (Person, "person", "Person"),
    "organisations": (Organisation, "organisation", "Organisation"),
    "studios": (Studio, "studio", "Studio"),
    "departments": (Department, "department", "Department"),
    "day-offs": (DayOff, "day-off", "DayOff"),
    "search-filters": (SearchFilter, "search-filter", "SearchFilter"),
    "search-filter-groups": (SearchFilterGroup, "search-filter-group", "SearchFilterGroup"),
}
# Catalogues any logged-in person may read (Zou's CRUD defaults).
READABLE_BY_ALL = {"persons", "organisations", "studios", "departments"}
WRITABLE = {
    "organisations": ("name", "hours_by_day", "use_original_file_name", "timesheets_locked",
                      "format_duration_in_hours", "hd_by_default", "chat_token_slack",
                      "chat_webhook_mattermost", "chat_token_discord", "dark_theme_by_default"),
    "studios": ("name", "color", "archived"),
    "departments": ("name", "color", "archived"),
    "day-offs": ("date", "end_date", "description", "person_id"),
    "search-filters": ("list_type", "entity_type", "name", "search_query", "is_shared",
                       "search_filter_group_id", "person_id", "project_id", "department_id"),
    "search-filter-groups": ("list_type", "entity_type", "name", "color", "is_shared",
                             "person_id", "project_id", "department_id"),
}
REQUIRED = {
    "organisations": ("name",),
    "studios": ("name",),
    "departments": ("name",),
    "day-offs": ("date", "person_id"),
    "search-filters": ("list_type", "search_query"),
    "search-filter-groups": ("list_type", "name"),
    "persons": ("first_name",),
}


def _need(body, fields):
    if not isinstance(body, dict):
        raise Invalid("A JSON object is expected")
    for f in fields:
        if body.get(f) in (None, ""):
            raise Invalid(f"Field {f} is required", {"field": f})


class AuthService(HealthMixin):
    name = "auth"
    store = Store(metadata)

    # ---------------------------------------------------------------- helpers
    @property
    def caller(self):
        return self.store.caller

    def _require_admin(self):
        if self.caller.role != "admin":
            raise Forbidden("Admin rights are required")

    def _person(self, s, person_id) -> Person:
        person = s.get(Person, valid_uuid(person_id, "person id"))
        if person is None:
            raise NotFound(f"Person {person_id} not found")
        return person

    def _credential(self, s, person_id) -> Credential:
        cred = s.get(Credential, person_id)
        if cred is None:
            cred = Credential(person_id=person_id, login_failed_attemps=0)
            s.add(cred)
        return cred

    def _organisation(self, s) -> Organisation:
        org = s.scalars(select(Organisation).order_by(Organisation.created_at)).first()
        if org is None:
            org = Organisation(name="Kitsu", hours_by_day=8.0)
            s.add(org)
            s.flush()
        return org

    def _issue(self, s, person: Person, origin: str, ip: str | None, sid: str | None = None) -> dict:
        secret = config.secret_key()
        sid = sid or domain.new_session_id()
        identity = "bot" if person.is_bot else "person"
        access, _ = domain.make_token(secret, person.id, "access", config.get_int("ACCESS_TOKEN_MINUTES"), sid, identity)
        refresh, _ = domain.make_token(secret, person.id, "refresh", config.get_int("REFRESH_TOKEN_MINUTES"), sid, identity)
        s.add(LoginLog(person_id=person.id, ip_address=(ip or "")[:45], origin=origin))
        return {"access_token": access, "refresh_token": refresh}

    @rpc(**expected)
    def ping(self):
        """Readiness through RPC: the service answers and its database too."""
        from sqlalchemy import text

        with self.store.session() as s:
            s.execute(text("SELECT 1"))
        return True

    # ---------------------------------------------------------------- login
    @rpc(**expected)
    def login(self, body=None, ip=None, origin="script"):
        """Check credentials; returns Zou's login body with fresh tokens."""
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        email = body.get("email")
        password = body.get("password")
        if not isinstance(email, str) or not email or not isinstance(password, str):
            raise Invalid("Wrong email or password.", {"login": False})
        attempts = config.get_int("LOGIN_LOCK_ATTEMPTS") or 5
        seconds = config.get_int("LOGIN_LOCK_SECONDS") or 60
        wrong = Invalid("Wrong email or password.", {"login": False})
        with self.store.begin() as s:
            person = s.scalars(
                select(Person).where(
                    (Person.email.ilike(email.strip())) | (Person.desktop_login == email.strip()),
                    Person.is_bot.is_(False),
                )
            ).first()
            cred = s.get(Credential, person.id) if person else None
            current = now()
            if cred is not None and domain.is_locked(
                cred.login_failed_attemps, cred.last_login_failed, current, attempts, seconds
            ):
                domain.check_password(password, None)  # same time as any attempt
                raise Locked(
                    "Too many failed login attempts, retry in a minute.",
                    {"login": False, "too_many_failed_login_attemps": True},
                )
            ok = domain.check_password(password, cred.password_hash if cred else None)
            if not ok:
                if cred is not None:
                    cred.login_failed_attemps = domain.after_failure(
                        cred.login_failed_attemps, cred.last_login_failed, current, attempts, seconds
                    )
                    cred.last_login_failed = current
            elif not person.active:
                raise Unauthenticated(
                    "User is unactive, he cannot log in.", {"login": False, "unactive": True}
                )
            else:
                cred.login_failed_attemps = 0
                cred.last_login_failed = None
                tokens = self._issue(s, person, origin, ip)
                org = self._organisation(s)
                return {
                    "user": schemas.person_full(person),
                    "organisation": schemas.organisation_dump(org, person.role == "admin"),
                    "login": True,
                    **tokens,
                }
        raise wrong

    @rpc(**expected)
    def refresh(self, claims=None):
        """A new access token for a valid refresh token's session."""
        claims = claims or {}
        with self.store.begin() as s:
            person = s.get(Person, claims.get("sub"))
            if person is None or not person.active:
                raise Unauthenticated("User not found or inactive")
            if s.get(RevokedSession, claims.get("sid") or "") is not None:
                raise Unauthenticated("Token has been revoked")
            access, _ = domain.make_token(
                config.secret_key(), person.id, "access",
                config.get_int("ACCESS_TOKEN_MINUTES"), claims.get("sid"),
                "bot" if person.is_bot else "person",
            )
            return {"access_token": access}

    @rpc(**expected)
    def logout(self, claims=None):
        """Revoke the session: its access and refresh tokens, in every gateway."""
        claims = claims or {}
        sid = claims.get("sid")
        if not sid:
            raise Unauthenticated("Missing session")
        expires = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(
            minutes=max(config.get_int("REFRESH_TOKEN_MINUTES"), config.get_int("ACCESS_TOKEN_MINUTES"))
        )
        redis_store.revoke_session(sid, int((expires - now()).total_seconds()))
        with self.store.begin() as s:
            if s.get(RevokedSession, sid) is None:
                s.add(RevokedSession(sid=sid, person_id=claims.get("sub"), expires_at=expires))
        return {"logout": True}

    @rpc(**expected)
    def get_principal(self, person_id):
        """What the gateway caches about a caller: role, active, bot."""
        with self.store.session() as s:
            person = s.get(Person, valid_uuid(person_id, "person id"))
            if person is None:
                raise NotFound(f"Person {person_id} not found")
            return {
                "id": person.id,
                "role": person.role,
                "active": bool(person.active),
                "is_bot": bool(person.is_bot),
                "departments": [d.id for d in person.departments],
                "expiration_date": person.expiration_date.isoformat() if person.expiration_date else None,
            }

    @rpc(**expected)
    def authenticated(self, query=None, body=None):
        with self.store.begin() as s:
            person = self._person(s, self.caller.user_id)
            doc = schemas.person_full(person)
            doc["fido_devices"] = [c.get("device_name") for c in ((s.get(Credential, person.id) or Credential()).fido_credentials or [])]
            org = self._organisation(s)
            return {
                "authenticated": True,
                "user": doc,
                "organisation": schemas.organisation_dump(org, person.role == "admin"),
            }

    @rpc(**expected)
    def change_password(self, query=None, body=None):
        body = body or {}
        _need(body, ("old_password", "password", "password_2"))
        if body["password"] != body["password_2"]:
            raise Invalid("Confirmation password and password are different.")
        problem = domain.password_problem(body["password"])
        if problem:
            raise Invalid(problem)
        attempts = config.get_int("LOGIN_LOCK_ATTEMPTS") or 5
        seconds = config.get_int("LOGIN_LOCK_SECONDS") or 60
        with self.store.begin() as s:
            person = self._person(s, self.caller.user_id)
            cred = self._credential(s, person.id)
            current = now()
            if domain.is_locked(cred.login_failed_attemps, cred.last_login_failed, current, attempts, seconds):
                raise Locked("Too many failed login attempts, retry in a minute.")
            if not domain.check_password(body["old_password"], cred.password_hash):
                cred.login_failed_attemps = domain.after_failure(
                    cred.login_failed_attemps, cred.last_login_failed, current, attempts, seconds
                )
                cred.last_login_failed = current
                error = Invalid("Old password is wrong.")
            else:
                cred.password_hash = domain.hash_password(body["password"])
                cred.login_failed_attemps = 0
                return {"success": True}
        raise error

    @rpc(**expected)
    def admin_change_password(self, person_id, query=None, body=None):
        self._require_admin()
        body = body or {}
        _need(body, ("password", "password_2"))
        if body["password"] != body["password_2"]:
            raise Invalid("Confirmation password and password are different.")
        problem = domain.password_problem(body["password"])
        if problem:
            raise Invalid(problem)
        with self.store.begin() as s:
            person = self._person(s, person_id)
            self._credential(s, person.id).password_hash = domain.hash_password(body["password"])
        return {"success": True}

    @rpc(**expected)
    def set_password(self, email, password):
        """Operator bootstrap: create or reset an admin (CLI and `make up`)."""
        problem = domain.password_problem(password)
        if problem:
            raise Invalid(problem)
        with self.store.begin() as s:
            return self._ensure_admin(s, email, password)

    def _ensure_admin(self, s, email, password):
        person = s.scalars(select(Person).where(Person.email.ilike(email), Person.is_bot.is_(False))).first()
        created = person is None
        if created:
            person = Person(first_name="Super", last_name="Admin", email=email, role="admin", active=True)
            s.add(person)
            s.flush()
        else:
            person.role = "admin"
            person.active = True
        self._credential(s, person.id).password_hash = domain.hash_password(password)
        self._organisation(s)
        s.flush()
        self.store.emit(s, "person:new" if created else "person:update", {"person_id": person.id})
        return {"id": person.id, "created": created}

    # ---------------------------------------------------------------- CRUD
    def _model(self, model):
        try:
            return CRUD[model]
        except KeyError:
            raise NotFound(f"Unknown model {model}") from None

    def _can_read(self, model):
        if model in READABLE_BY_ALL:
            return
        if model == "day-offs" and self.caller.role in ("admin", "manager", "supervisor"):
            return
        self._require_admin()

    def _dump(self, model, obj):
        if model == "persons":
            return schemas.person_for(self.caller.role, self.caller.user_id, obj)
        if model == "organisations":
            return schemas.organisation_dump(obj, self.caller.role == "admin")
        return row_dict(obj, type_name=CRUD[model][2])

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        cls, _, _ = self._model(model)
        self._can_read(model)
        query = dict(query or {})
        forbidden = ()
        if model == "persons" and self.caller.role not in ("admin", "manager"):
            forbidden = tuple(c for c in ("daily_salary", "email", "phone", "contract_type", "position", "seniority", "shotgun_id", "ldap_uid") )
        with self.store.session() as s:
            stmt = apply_filters(select(cls), cls, query, forbidden=forbidden)
            if model == "persons" and self.caller.role in ("client", "vendor"):
                stmt = stmt.where(cls.id == self.caller.user_id)
            return list_rows(s, cls, stmt, query, lambda o: self._dump(model, o))

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        cls, _, _ = self._model(model)
        self._can_read(model)
        with self.store.session() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{CRUD[model][2]} {instance_id} not found")
            return self._dump(model, obj)

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        cls, prefix, _ = self._model(model)
        if model == "day-offs" and self.caller.role in ("manager",):
            pass
        else:
            self._require_admin()
        body = body or {}
        _need(body, REQUIRED.get(model, ()))
        with self.store.begin() as s:
            if model == "persons":
                obj = self._create_person(s, body)
            else:
                obj = cls()
                apply_body(obj, body, WRITABLE[model])
                if model == "day-offs":
                    obj.end_date = obj.end_date or obj.date
                    if obj.end_date < obj.date:
                        raise Invalid("End date must be after start date")
                    self._person(s, obj.person_id)
                    clash = s.scalars(
                        select(DayOff).where(
                            DayOff.person_id == obj.person_id,
                            DayOff.date <= obj.end_date,
                            DayOff.end_date >= obj.date,
                        )
                    ).first()
                    if clash:
                        raise Invalid("Day off already exists for this period")
                s.add(obj)
            self._flush_unique(s, model)
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id}, record=row_dict(obj))
            return self._dump(model, obj)

    def _create_person(self, s, body) -> Person:
        role = body.get("role") or "user"
        if role not in domain.ROLES:
            raise Invalid(f"Invalid role {role}", {"field": "role"})
        if body.get("contract_type") and body["contract_type"] not in domain.CONTRACT_TYPES:
            raise Invalid("Invalid contract type", {"field": "contract_type"})
        email = body.get("email")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise Invalid("Invalid email", {"field": "email"})
        person = Person()
        apply_body(person, body, schemas.ADMIN_WRITABLE)
        person.email = email.strip() if email else email
        person.role = role
        person.active = body.get("active", True) is not False
        s.add(person)
        s.flush()
        self._set_departments(s, person, body.get("departments"))
        cred = self._credential(s, person.id)
        password = body.get("password")
        if password:
            problem = domain.password_problem(password)
            if problem:
                raise Invalid(problem, {"field": "password"})
            cred.password_hash = domain.hash_password(password)
        if person.is_bot:
            cred.bot_jti = domain.new_session_id()
        return person

    def _set_departments(self, s, person, department_ids):
        if department_ids is None:
            return
        if not isinstance(department_ids, list):
            raise Invalid("departments must be a list", {"field": "departments"})
        ids = [valid_uuid(d.get("id") if isinstance(d, dict) else d, "department id") for d in department_ids]
        deps = s.scalars(select(Department).where(Department.id.in_(ids))).all() if ids else []
        if len(deps) != len(set(ids)):
            raise Invalid("Unknown department", {"field": "departments"})
        person.departments = list(deps)

    def _flush_unique(self, s, model):
        try:
            s.flush()
        except IntegrityError as exc:
            raise Invalid(f"A {CRUD[model][2].lower()} with the same unique value already exists") from None

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        cls, prefix, _ = self._model(model)
        body = body or {}
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        with self.store.begin() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{CRUD[model][2]} {instance_id} not found")
            if model == "persons":
                is_admin = self.caller.role == "admin"
                if not is_admin and self.caller.user_id != obj.id:
                    raise Forbidden("You cannot edit another person")
                if "role" in body and body["role"] not in domain.ROLES:
                    raise Invalid(f"Invalid role {body['role']}", {"field": "role"})
                # Allow-list per reader: an artist's role, active or bot flags are not theirs to set.
                apply_body(obj, body, schemas.ADMIN_WRITABLE if is_admin else schemas.SELF_WRITABLE)
                if is_admin and "departments" in body:
                    self._set_departments(s, obj, body["departments"])
                if is_admin and body.get("password"):
                    problem = domain.password_problem(body["password"])
                    if problem:
                        raise Invalid(problem)
                    self._credential(s, obj.id).password_hash = domain.hash_password(body["password"])
                if not obj.active:
                    self._revoke_all(s, obj.id)
            else:
                self._require_admin()
                protected = {"project_id"} if model.startswith("search") else set()
                apply_body(obj, body, [f for f in WRITABLE[model] if f not in protected])
            obj.updated_at = now()
            self._flush_unique(s, model)
            self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id}, record=row_dict(obj))
            return self._dump(model, obj)

    def _revoke_all(self, s, person_id):
        """Deactivation ends every session at once: the gateway checks ``active``
        through its principal cache, and the bot token id changes."""
        cred = s.get(Credential, person_id)
        if cred is not None and cred.bot_jti:
            cred.bot_jti = domain.new_session_id()

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        cls, prefix, _ = self._model(model)
        self._require_admin()
        with self.store.begin() as s:
            obj = s.get(cls, valid_uuid(instance_id))
            if obj is None:
                raise NotFound(f"{CRUD[model][2]} {instance_id} not found")
            if model == "persons" and obj.id == self.caller.user_id:
                raise Invalid("You cannot delete yourself")
            record = row_dict(obj)
            s.delete(obj)
            try:
                s.flush()
            except IntegrityError:
                raise Invalid(f"{CRUD[model][2]} is still used and cannot be deleted") from None
            self.store.emit(s, f"{prefix}:delete", {f"{prefix.replace('-', '_')}_id": record["id"]}, record=record)
        return None

    # ---------------------------------------------------------------- persons' actions
    @rpc(**expected)
    def clear_avatar(self, person_id=None, query=None, body=None):
        person_id = person_id or self.caller.user_id
        if self.caller.role != "admin" and person_id != self.caller.user_id:
            raise Forbidden("You cannot clear another person's avatar")
        with self.store.begin() as s:
            person = self._person(s, person_id)
            person.has_avatar = False
            person.updated_at = now()
            self.store.emit(s, "person:update", {"person_id": person.id}, record=row_dict(person))
        return None

    @rpc(**expected)
    def add_person_to_department(self, person_id, query=None, body=None):
        self._require_admin()
        body = body or {}
        _need(body, ("department_id",))
        with self.store.begin() as s:
            person = self._person(s, person_id)
            dep = s.get(Department, valid_uuid(body["department_id"], "department id"))
            if dep is None:
                raise NotFound(f"Department {body['department_id']} not found")
            if dep not in person.departments:
                person.departments.append(dep)
            self.store.emit(s, "person:update", {"person_id": person.id})
            return schemas.person_full(person)

    @rpc(**expected)
    def remove_person_from_department(self, person_id, department_id, query=None, body=None):
        self._require_admin()
        with self.store.begin() as s:
            person = self._person(s, person_id)
            person.departments = [d for d in person.departments if d.id != department_id]
            self.store.emit(s, "person:update", {"person_id": person.id})
        return None

    @rpc(**expected)
    def department_persons(self, department_id, query=None, body=None):
        with self.store.session() as s:
            dep = s.get(Department, valid_uuid(department_id, "department id"))
            if dep is None:
                raise NotFound(f"Department {department_id} not found")
            persons = s.scalars(select(Person).where(Person.departments.any(Department.id == dep.id))).all()
            return [schemas.person_for(self.caller.role, self.caller.user_id, p) for p in persons]

    # ---------------------------------------------------------------- user filters
    @rpc(**expected)
    def user_filters(self, query=None, body=None):
        """Zou's shape: {list_type: {project_id|"all": [filter, …]}}."""
        with self.store.session() as s:
            rows = s.scalars(
                select(SearchFilter).where(
                    (SearchFilter.person_id == self.caller.user_id) | (SearchFilter.is_shared.is_(True))
                ).order_by(SearchFilter.name)
            ).all()
            return _nest(rows, "SearchFilter")

    @rpc(**expected)
    def user_filter_groups(self, query=None, body=None):
        with self.store.session() as s:
            rows = s.scalars(
                select(SearchFilterGroup).where(
                    (SearchFilterGroup.person_id == self.caller.user_id) | (SearchFilterGroup.is_shared.is_(True))
                ).order_by(SearchFilterGroup.name)
            ).all()
            return _nest(rows, "SearchFilterGroup")

    @rpc(**expected)
    def create_user_filter(self, query=None, body=None):
        return self._create_own(SearchFilter, "search-filter", body, ("list_type", "search_query"),
                                WRITABLE["search-filters"])

    @rpc(**expected)
    def create_user_filter_group(self, query=None, body=None):
        return self._create_own(SearchFilterGroup, "search-filter-group", body, ("list_type", "name"),
                                WRITABLE["search-filter-groups"])

    def _create_own(self, cls, prefix, body, required, writable):
        body = body or {}
        _need(body, required)
        with self.store.begin() as s:
            obj = cls()
            apply_body(obj, body, [f for f in writable if f != "person_id"])
            obj.person_id = self.caller.user_id
            if obj.name is None:
                obj.name = ""
            if getattr(obj, "search_filter_group_id", None):
                group = s.get(SearchFilterGroup, valid_uuid(obj.search_filter_group_id, "group id"))
                if group is None or group.person_id != self.caller.user_id:
                    raise NotFound("Search filter group not found")
            s.add(obj)
            s.flush()
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id})
            return row_dict(obj, type_name=cls.__name__)

    def _own(self, s, cls, instance_id):
        obj = s.get(cls, valid_uuid(instance_id))
        if obj is None or obj.person_id != self.caller.user_id:
            raise NotFound(f"{cls.__name__} {instance_id} not found")
        return obj

    @rpc(**expected)
    def get_user_filter_group(self, filter_group_id, query=None, body=None):
        with self.store.session() as s:
            return row_dict(self._own(s, SearchFilterGroup, filter_group_id), type_name="SearchFilterGroup")

    @rpc(**expected)
    def update_user_filter(self, filter_id, query=None, body=None):
        return self._update_own(SearchFilter, "search-filter", filter_id, body, WRITABLE["search-filters"])

    @rpc(**expected)
    def update_user_filter_group(self, filter_group_id, query=None, body=None):
        return self._update_own(SearchFilterGroup, "search-filter-group", filter_group_id, body,
                                WRITABLE["search-filter-groups"])

    def _update_own(self, cls, prefix, instance_id, body, writable):
        with self.store.begin() as s:
            obj = self._own(s, cls, instance_id)
            apply_body(obj, body or {}, [f for f in writable if f not in ("person_id", "list_type")])
            obj.updated_at = now()
            self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id})
            return row_dict(obj, type_name=cls.__name__)

    @rpc(**expected)
    def delete_user_filter(self, filter_id, query=None, body=None):
        with self.store.begin() as s:
            obj = self._own(s, SearchFilter, filter_id)
            s.delete(obj)
            self.store.emit(s, "search-filter:delete", {"search_filter_id": filter_id})
        return None

    @rpc(**expected)
    def delete_user_filter_group(self, filter_group_id, query=None, body=None):
        with self.store.begin() as s:
            obj = self._own(s, SearchFilterGroup, filter_group_id)
            s.execute(delete(SearchFilter).where(SearchFilter.search_filter_group_id == obj.id))
            s.delete(obj)
            self.store.emit(s, "search-filter-group:delete", {"search_filter_group_id": filter_group_id})
        return None

    # ---------------------------------------------------------------- desktop login logs
    @rpc(**expected)
    def desktop_login_logs(self, person_id=None, query=None, body=None):
        person_id = person_id or self.caller.user_id
        if person_id != self.caller.user_id and self.caller.role not in ("admin",):
            raise Forbidden("Admin rights are required")
        with self.store.session() as s:
            self._person(s, person_id)
            rows = s.scalars(
                select(DesktopLoginLog).where(DesktopLoginLog.person_id == person_id)
                .order_by(DesktopLoginLog.date.desc())
            ).all()
            return [row_dict(r, type_name="DesktopLoginLog") for r in rows]

    @rpc(**expected)
    def create_desktop_login_log(self, person_id=None, query=None, body=None):
        person_id = person_id or self.caller.user_id
        if person_id != self.caller.user_id and self.caller.role not in ("admin",):
            raise Forbidden("Admin rights are required")
        body = body or {}
        with self.store.begin() as s:
            person = self._person(s, person_id)
            when = now()
            if body.get("date"):
                try:
                    when = dt.datetime.fromisoformat(str(body["date"]))
                except ValueError:
                    raise Invalid("Invalid date", {"field": "date"}) from None
            log_row = DesktopLoginLog(person_id=person.id, date=when)
            s.add(log_row)
            person.last_presence = when.date()
            s.flush()
            return row_dict(log_row, type_name="DesktopLoginLog")


def _nest(rows, type_name) -> dict:
    out: dict = {}
    for r in rows:
        doc = row_dict(r, type_name=type_name)
        out.setdefault(r.list_type, {}).setdefault(r.project_id or "all", []).append(doc)
    return out
Service = AuthService
