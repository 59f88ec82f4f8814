"""Entrypoints of the auth service: login and tokens, people, organisation,
studios, departments, day-offs, search filters, login logs.

Every RPC called by the gateway takes its path parameters by name plus
``query`` (the query string as a dict) and ``body`` (the parsed JSON).
The caller (``user_id``, ``role``) comes from the context data.

The service is split by area: second factors in ``twofa.py``, password
resets and app logins in ``recovery.py``, calendars and logs in
``calendar.py``, hardware and software in ``equipment.py``. This module
keeps login, tokens, persons and the generic CRUD.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from nameko.rpc import rpc
from slatekit import config
from slatekit.crud import apply_body, apply_filters, list_rows, now, row_dict, valid_uuid
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid, Locked, NotFound, Unauthenticated
from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store
from sqlalchemy import delete, select
from sqlalchemy.exc import DataError, IntegrityError

from . import domain, redis_store, schemas
from .calendars import CalendarMixin
from .equipment import EquipmentMixin
from .errors import malformed_id, missing_field, not_found, validation_error
from .guests import GuestsMixin
from .models import (
    Credential,
    DayOff,
    Department,
    DesktopLoginLog,
    HardwareItem,
    LoginLog,
    Organisation,
    Person,
    RevokedSession,
    SearchFilter,
    SearchFilterGroup,
    Studio,
    metadata,
)
from .recovery import RecoveryMixin
from .twofa import SecondFactorMixin

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
    "hardware-items": (HardwareItem, "hardware-item", "HardwareItem"),
}
# Catalogues any logged-in person may read (Zou's CRUD defaults).
READABLE_BY_ALL = {"persons", "organisations", "studios", "departments", "hardware-items"}
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
    "hardware-items": ("name", "short_name", "archived", "monthly_cost", "inventory_amount"),
}
REQUIRED = {
    "organisations": ("name",),
    "studios": ("name",),
    "departments": ("name", "color"),
    "day-offs": ("date", "end_date", "person_id"),
    "search-filters": ("list_type", "search_query"),
    "search-filter-groups": ("list_type", "name"),
    "persons": ("email", "first_name", "last_name"),
    "hardware-items": ("name", "short_name"),
}
# Columns a non-admin may filter persons on (what the minimal view shows, and email).
MINIMAL_PERSON_FILTERS = {
    "id", "first_name", "last_name", "full_name", "has_avatar", "active", "departments",
    "studio_id", "role", "desktop_login", "email", "is_bot", "is_guest",
}
BOT_TOKEN_DAYS = 3650  # a bot token without expiration date: ten years
SESSION_SET_TTL_MINUTES = "REFRESH_TOKEN_MINUTES"


def _need(body, fields):
    """CRUD creation: Zou's generic message for a missing column."""
    if not isinstance(body, dict):
        raise Invalid("A JSON object is expected")
    for f in fields:
        if body.get(f) is None or (f != "last_name" and body.get(f) == ""):
            raise missing_field(f)


def _lock_settings() -> tuple[int, int]:
    return (config.get_int("LOGIN_LOCK_ATTEMPTS") or 5, config.get_int("LOGIN_LOCK_SECONDS") or 60)


class AuthService(SecondFactorMixin, RecoveryMixin, CalendarMixin, EquipmentMixin, GuestsMixin, HealthMixin):
    name = "auth"
    store = Store(metadata)
    peers = ServiceRpc()  # calls to other services (assets, files)

    # ---------------------------------------------------------------- helpers
    @property
    def caller(self):
        return self.store.caller

    def _require_admin(self):
        if self.caller.role != "admin":
            raise Forbidden("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")

    def _person(self, s, person_id, not_found_on_malformed=False) -> Person:
        try:
            pid = valid_uuid(person_id, "person id")
        except Invalid:
            if not_found_on_malformed:
                raise not_found() from None
            raise malformed_id() from None
        person = s.get(Person, pid)
        if person is None:
            raise not_found()
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

    def _tokens(self, person: Person, sid: str | None = None, restricted: bool = False) -> dict:
        """A new access + refresh pair sharing a session id (logout revokes both).

        ``restricted``: ENFORCE_2FA and no second factor yet. The tokens carry
        Zou's ``requires_2fa_setup`` claim and the session id is marked in
        Redis (``slate:2fa-setup:<sid>``, like the blocklist) so the gateway
        can refuse every route but the 2FA setup ones, and a refresh stays
        restricted."""
        secret = config.secret_key()
        sid = sid or domain.new_session_id()
        identity = "bot" if person.is_bot else "person"
        extra = {"requires_2fa_setup": True} if restricted else None
        minutes = config.get_int("REFRESH_TOKEN_MINUTES")
        access, _ = domain.make_token(secret, person.id, "access", config.get_int("ACCESS_TOKEN_MINUTES"), sid,
                                      identity, extra)
        refresh, _ = domain.make_token(secret, person.id, "refresh", minutes, sid, identity, extra)
        if restricted:
            redis_store.client().set(f"slate:2fa-setup:{sid}", "1", ex=minutes * 60)
        self._remember_session(person.id, sid)
        return {"access_token": access, "refresh_token": refresh}

    @staticmethod
    def _needs_2fa_setup(person: Person) -> bool:
        """Zou's ENFORCE_2FA: a person without any second factor (and not in
        the exempt list) gets restricted tokens until they set one up."""
        if str(os.environ.get("ENFORCE_2FA", "")).lower() not in ("1", "true", "yes", "on"):
            return False
        exempt = {e.strip().lower() for e in os.environ.get("TWO_FA_EXEMPT_USERS", "").split(",") if e.strip()}
        if person.is_bot or (person.email or "").lower() in exempt:
            return False
        return not (person.totp_enabled or person.email_otp_enabled or person.fido_enabled)

    def _issue(self, s, person: Person, origin: str, ip: str | None, sid: str | None = None) -> dict:
        tokens = self._tokens(person, sid, restricted=self._needs_2fa_setup(person))
        s.add(LoginLog(person_id=person.id, ip_address=(ip or "")[:45], origin=origin))
        return tokens

    @staticmethod
    def _remember_session(person_id: str, sid: str) -> None:
        """Keep the person's live session ids, so deactivation can revoke them all."""
        try:
            r = redis_store.client()
            key = f"slate:auth:sessions:{person_id}"
            r.sadd(key, sid)
            r.expire(key, config.get_int(SESSION_SET_TTL_MINUTES) * 60)
        except Exception:  # noqa: BLE001 - the principal check still refuses inactive persons
            log.warning("could not record session of %s", person_id)

    def _revoke_all(self, s, person_id):
        """Deactivation ends every session: each recorded session id goes on
        the blocklist (so reactivation does not revive them), and a bot's
        token id changes."""
        ttl = max(config.get_int("REFRESH_TOKEN_MINUTES"), config.get_int("ACCESS_TOKEN_MINUTES")) * 60
        key = f"slate:auth:sessions:{person_id}"
        r = redis_store.client()
        for sid in r.smembers(key):
            sid = sid.decode() if isinstance(sid, bytes) else sid
            redis_store.revoke_session(sid, ttl)
        r.delete(key)
        cred = s.get(Credential, person_id)
        if cred is not None and cred.bot_jti:
            redis_store.revoke_session(cred.bot_jti, BOT_TOKEN_DAYS * 86400)
            cred.bot_jti = None

    def _bot_token(self, s, person: Person) -> str:
        """Zou's long-lived API token of a bot: new token id each time, the
        previous one revoked."""
        cred = self._credential(s, person.id)
        if cred.bot_jti:
            redis_store.revoke_session(cred.bot_jti, BOT_TOKEN_DAYS * 86400)
        cred.bot_jti = domain.new_session_id()
        if person.expiration_date:
            end = dt.datetime.combine(person.expiration_date, dt.time.max)
            minutes = max(1, int((end - now()).total_seconds() // 60))
        else:
            minutes = BOT_TOKEN_DAYS * 24 * 60
        token, _ = domain.make_token(config.secret_key(), person.id, "access", minutes, cred.bot_jti, "bot")
        return token

    def _emit_person(self, s, name: str, person: Person, record: dict | None = None):
        s.flush()
        self.store.emit(s, name, {"person_id": person.id}, record=record or schemas.person_full(person))


    # ---------------------------------------------------------------- login
    @rpc(**expected)
    def login(self, body=None, ip=None, origin="script"):
        """Check credentials (and second factor); returns Zou's login body."""
        body = body if isinstance(body, dict) else {}
        email = body.get("email")
        password = body.get("password", "default")
        problems = []
        if email is None:
            problems.append(("email", "Field required"))
        elif not isinstance(email, str):
            problems.append(("email", "Input should be a valid string"))
        elif not email:
            problems.append(("email", "String should have at least 1 character"))
        if password is None:
            password = "default"
        if not isinstance(password, str):
            problems.append(("password", "Input should be a valid string"))
        if problems:
            raise validation_error(problems)
        attempts, seconds = _lock_settings()
        wrong = Invalid("Wrong email or password.", {"login": False})
        error = None
        with self.store.begin() as s:
            person = s.scalars(
                select(Person).where(
                    (Person.email == email.strip().lower()) | (Person.desktop_login == email.strip()),
                    Person.is_bot.is_(False),
                ).order_by(Person.created_at)
            ).first()
            cred = self._credential(s, person.id) if person else None
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
                    self._count_failure(cred, current)
                error = wrong
            elif not person.active:
                raise Unauthenticated("User is unactive, he cannot log in.", {"login": False, "unactive": True})
            else:
                error = self._check_second_factor(s, person, cred, body, login=True)
                if error is not None:
                    if error.extra.get("wrong_OTP"):
                        self._count_failure(cred, current)
                elif password == "default":
                    # Zou: a password literally "default" must be changed first.
                    token = domain.new_reset_token()
                    redis_store.put(f"reset-token-{person.email}", token, 7200)
                    error = Invalid("The password must be changed.",
                                    {"login": False, "default_password": True, "token": token})
                else:
                    cred.login_failed_attemps = 0
                    cred.last_login_failed = None
                    tokens = self._issue(s, person, origin, ip)
                    org = self._organisation(s)
                    doc = {
                        "user": schemas.person_full(person),
                        "organisation": schemas.organisation_dump(org, person.role == "admin"),
                        "login": True,
                        **tokens,
                    }
                    if self._needs_2fa_setup(person):
                        doc["two_factor_authentication_required"] = True
                    return doc
        raise error or wrong

    def _count_failure(self, cred: Credential, current: dt.datetime) -> None:
        attempts, seconds = _lock_settings()
        cred.login_failed_attemps = domain.after_failure(
            cred.login_failed_attemps, cred.last_login_failed, current, attempts, seconds
        )
        cred.last_login_failed = current

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
            restricted = bool(claims.get("sid")) and bool(
                redis_store.client().exists(f"slate:2fa-setup:{claims.get('sid')}")
            )
            access, _ = domain.make_token(
                config.secret_key(), person.id, "access",
                config.get_int("ACCESS_TOKEN_MINUTES"), claims.get("sid"),
                "bot" if person.is_bot else "person",
                {"requires_2fa_setup": True} if restricted else None,
            )
            return {"access_token": access}

    @rpc(**expected)
    def logout(self, claims=None):
        """Revoke the session: its access and refresh tokens, in every gateway."""
        claims = claims or {}
        sid = claims.get("sid")
        if not sid:
            raise Unauthenticated("Missing session")
        expires = now() + dt.timedelta(
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
                "is_guest": bool(person.is_guest),
                "departments": [d.id for d in person.departments],
                "expiration_date": person.expiration_date.isoformat() if person.expiration_date else None,
            }

    @rpc(**expected)
    def export_persons(self, after=None, limit=1000):
        """Rows for rebuilding a people projection: full person JSON (with
        role, active, departments, full_name, has_avatar), ordered by id,
        ``id > after``."""
        limit = max(1, min(int(limit or 1000), 5000))
        with self.store.session() as s:
            stmt = select(Person).order_by(Person.id).limit(limit)
            if after:
                stmt = stmt.where(Person.id > valid_uuid(after))
            return [schemas.person_full(p) for p in s.scalars(stmt)]

    @rpc(**expected)
    def authenticated(self, query=None, body=None):
        with self.store.begin() as s:
            person = self._person(s, self.caller.user_id)
            doc = schemas.person_full(person)
            cred = s.get(Credential, person.id)
            doc["fido_devices"] = [c.get("device_name") for c in ((cred.fido_credentials if cred else None) or [])]
            org = self._organisation(s)
            return {
                "authenticated": True,
                "user": doc,
                "organisation": schemas.organisation_dump(org, person.role == "admin"),
            }

    @rpc(**expected)
    def change_password(self, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        problems = []
        for f in ("old_password", "password", "password_2"):
            v = body.get(f)
            if v is None:
                problems.append((f, "Field required"))
            elif not isinstance(v, str):
                problems.append((f, "Input should be a valid string"))
            elif not v:
                problems.append((f, "String should have at least 1 character"))
        if problems:
            raise validation_error(problems)
        attempts, seconds = _lock_settings()
        error = None
        with self.store.begin() as s:
            person = self._person(s, self.caller.user_id)
            cred = self._credential(s, person.id)
            current = now()
            if domain.is_locked(cred.login_failed_attemps, cred.last_login_failed, current, attempts, seconds):
                raise Locked("Too many failed login attempts.", {"too_many_failed_login_attemps": True})
            if not domain.check_password(body["old_password"], cred.password_hash):
                self._count_failure(cred, current)
                error = Invalid("Old password is wrong.")
            elif body["password"] != body["password_2"]:
                raise Invalid("Confirmation password doesn't match.")
            elif domain.password_problem(body["password"]):
                raise Invalid(domain.password_problem(body["password"]))
            else:
                cred.password_hash = domain.hash_password(body["password"])
                cred.login_failed_attemps = 0
                return {"success": True}
        raise error

    @rpc(**expected)
    def admin_change_password(self, person_id, query=None, body=None):
        self._require_admin()
        body = body if isinstance(body, dict) else {}
        problems = [(f, "Field required") for f in ("password", "password_2") if body.get(f) in (None, "")]
        if problems:
            raise validation_error(problems)
        with self.store.begin() as s:
            person = self._person(s, person_id)
            cred = self._credential(s, person.id)
            if person.is_bot:
                raise Invalid("This person is a bot.")
            if person.id != self.caller.user_id and person.role == "admin" and cred.password_hash:
                raise Invalid("An admin can't change another admin's password.")
            if not person.active:
                raise Invalid("User is unactive.")
            if body["password"] != body["password_2"]:
                raise Invalid("Confirmation password doesn't match.")
            problem = domain.password_problem(body["password"])
            if problem:
                raise Invalid(problem)
            cred.password_hash = domain.hash_password(body["password"])
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
        email = domain.normalize_email(email)
        person = s.scalars(select(Person).where(Person.email == email, Person.is_bot.is_(False))).first()
        created = person is None
        if created:
            person = Person(first_name="Super", last_name="Admin", email=email, role="admin", active=True)
            s.add(person)
            s.flush()
        else:
            person.role = "admin"
            person.active = True
            person.updated_at = now()
        self._credential(s, person.id).password_hash = domain.hash_password(password)
        self._organisation(s)
        self._emit_person(s, "person:new" if created else "person:update", person)
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
        self._require_admin()

    def _dump(self, model, obj, relations=None):
        if model == "persons":
            return schemas.person_for(self.caller.role, obj, relations=relations)
        if model == "organisations":
            return schemas.organisation_dump(obj, self.caller.role == "admin")
        return row_dict(obj, type_name=CRUD[model][2])

    def _client_team_ids(self) -> set[str]:
        """Zou shows a client the people of its productions' teams (and
        itself). Teams come from assets; without assets, only itself."""
        from slatekit.errors import SlateError

        ids = {self.caller.user_id}
        try:
            for project in self.peers.call("assets", "user_projects_context") or []:
                for member in self.peers.call("assets", "get_project_team", project_id=project["id"]) or []:
                    ids.add(member["person_id"])
        except SlateError as exc:
            log.info("client team unavailable: %s", exc)
        return ids

    @staticmethod
    def _relations(query) -> bool | None:
        raw = (query or {}).get("relations")
        if raw is None:
            return None
        return str(raw).lower() in ("true", "1", "yes")

    def _get_row(self, s, model, instance_id):
        cls = CRUD[model][0]
        try:
            key = valid_uuid(instance_id)
        except Invalid:
            raise malformed_id() from None
        obj = s.get(cls, key)
        if obj is None:
            raise not_found()
        return obj

    @rpc(**expected)
    def crud_list(self, model, query=None, body=None):
        cls, _, _ = self._model(model)
        query = dict(query or {})
        for key in ("page", "limit"):
            if query.get(key) not in (None, ""):
                try:
                    int(query[key])
                except ValueError:
                    raise Invalid(f"{key} must be an integer.", {"data": None}) from None
        if model == "day-offs":
            return self._list_day_offs(query)
        self._can_read(model)
        is_admin = self.caller.role == "admin"
        if model == "persons":
            for key in list(query):
                if key in ("password", "totp_secret", "email_otp_secret", "otp_recovery_codes",
                           "fido_credentials", "jti") or (
                    not is_admin and key in cls.__table__.columns and key not in MINIMAL_PERSON_FILTERS
                ):
                    raise Invalid(f"Filtering on {key} is not allowed.")
            if query.get("email"):
                query["email"] = str(query["email"]).strip().lower()
            if "is_bot" in query and str(query["is_bot"]).lower() in ("false", "0"):
                query["is_bot"] = "false"
        relations = bool(self._relations(query))
        with self.store.session() as s:
            try:
                stmt = apply_filters(select(cls), cls, query)
            except Invalid:
                raise Invalid("One of the provided values has an invalid format.") from None
            if model == "persons" and self.caller.role == "client":
                stmt = stmt.where(cls.id.in_(list(self._client_team_ids())))
            if model == "persons":
                return list_rows(s, cls, stmt, query, lambda o: schemas.person_in_list(self.caller.role, o, relations))
            return list_rows(s, cls, stmt, query, lambda o: self._dump(model, o))

    @rpc(**expected)
    def crud_get(self, model, instance_id, query=None, body=None):
        self._model(model)
        with self.store.session() as s:
            obj = self._get_row(s, model, instance_id)
            if model == "day-offs":
                self._check_day_off_read(s, obj.person_id)
            else:
                self._can_read(model)
            if model == "persons" and self.caller.role == "client" and obj.id not in self._client_team_ids():
                raise Forbidden("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")
            return self._dump(model, obj, relations=self._relations(query))

    @rpc(**expected)
    def crud_create(self, model, query=None, body=None):
        cls, prefix, _ = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        if model == "day-offs":
            self._check_day_off_write(body.get("person_id"))
        else:
            self._require_admin()
        _need(body, REQUIRED.get(model, ()))
        with self.store.begin() as s:
            extra = {}
            if model == "persons":
                obj = self._create_person(s, body)
                if obj.is_bot:
                    extra["access_token"] = self._bot_token(s, obj)
            else:
                obj = cls()
                self._apply(obj, body, WRITABLE[model])
                if model == "day-offs":
                    self._check_day_off(s, obj)
            s.add(obj)
            self._flush_unique(s, model)
            record = schemas.person_full(obj) if model == "persons" else row_dict(obj)
            self.store.emit(s, f"{prefix}:new", {f"{prefix.replace('-', '_')}_id": obj.id}, record=record)
            doc = schemas.person_full(obj) if model == "persons" else self._dump(model, obj)
            doc.update(extra)
            return doc

    @staticmethod
    def _apply(obj, body, writable):
        try:
            apply_body(obj, body, writable)
        except Invalid:
            raise Invalid("One of the provided values has an invalid format.") from None

    def _check_day_off(self, s, obj: DayOff):
        if obj.date is None or obj.end_date is None:
            raise missing_field("end_date")
        if obj.end_date < obj.date:
            raise Invalid("The data conflicts with database integrity rules.")
        self._person(s, obj.person_id)
        stmt = select(DayOff).where(
            DayOff.person_id == obj.person_id,
            DayOff.date <= obj.end_date,
            DayOff.end_date >= obj.date,
        )
        if obj.id:
            stmt = stmt.where(DayOff.id != obj.id)
        if s.scalars(stmt).first():
            raise Invalid("Day off already exists for this period", {"data": None})

    def _create_person(self, s, body) -> Person:
        unknown = [k for k in body if k not in schemas.CREATE_ACCEPTED]
        if unknown:
            raise Invalid(f"'{unknown[0]}' is an invalid keyword argument for Person")
        role = body.get("role") or "user"
        if role not in domain.ROLES:
            raise Invalid("Invalid role", {"data": None})
        if body.get("contract_type") and body["contract_type"] not in domain.CONTRACT_TYPES:
            raise Invalid("Invalid contract_type", {"data": None})
        email = self._checked_email(s, body.get("email"), None, bool(body.get("is_bot")))
        self._check_expiration(body, None)
        person = Person()
        self._apply(person, body, schemas.ADMIN_WRITABLE)
        schemas.normalise_person(person)
        person.email = email
        person.role = role
        person.active = body.get("active", True) is not False
        s.add(person)
        self._flush_unique(s, "persons")
        self._set_departments(s, person, body.get("departments"))
        cred = self._credential(s, person.id)
        password = body.get("password")
        if password:
            if not isinstance(password, str):
                raise Invalid("One of the provided values has an invalid format.")
            cred.password_hash = domain.hash_password(password)
        return person

    @staticmethod
    def _check_expiration(body: dict, current: dt.date | None) -> None:
        """Zou refuses a past expiration date, except keeping the current one
        (an expired bot must stay editable)."""
        raw = body.get("expiration_date")
        if raw is None:
            return
        try:
            value = dt.date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise Invalid("Expiration date is not valid.", {"data": None}) from None
        if value < dt.date.today() and value != current:
            raise Invalid("Expiration date can't be in the past.", {"data": None})

    def _checked_email(self, s, value, person_id, is_bot) -> str:
        try:
            email = domain.normalize_email(value)
        except ValueError as exc:
            raise Invalid(str(exc), {"data": None}) from None
        if not is_bot:
            stmt = select(Person.id).where(Person.email == email, Person.is_bot.is_(False))
            if person_id:
                stmt = stmt.where(Person.id != person_id)
            if s.scalars(stmt).first():
                raise Invalid("Email already in use.", {"data": None})
        return email

    def _set_departments(self, s, person, department_ids):
        if department_ids is None:
            return
        if not isinstance(department_ids, list):
            raise Invalid("departments must be a list", {"field": "departments"})
        ids = [valid_uuid(d.get("id") if isinstance(d, dict) else d, "department id") for d in department_ids]
        deps = s.scalars(select(Department).where(Department.id.in_(ids))).all() if ids else []
        if len(deps) != len(set(ids)):
            raise Invalid("Department ID matches no department", {"data": None})
        person.departments = list(deps)

    def _flush_unique(self, s, model):
        try:
            s.flush()
        except IntegrityError as exc:
            text = str(exc.orig).lower()
            if "unique" in text or "duplicate" in text:
                raise Invalid("A record with the same unique values already exists.") from None
            if "not-null" in text or "null value" in text:
                raise Invalid("A required field is missing.") from None
            raise Invalid("The data conflicts with database integrity rules.") from None
        except DataError:
            raise Invalid("One of the provided values has an invalid format.") from None

    @rpc(**expected)
    def crud_update(self, model, instance_id, query=None, body=None):
        cls, prefix, _ = self._model(model)
        if not isinstance(body, dict):
            raise Invalid("A JSON object is expected")
        with self.store.begin() as s:
            obj = self._get_row(s, model, instance_id)
            extra = {}
            if model == "persons":
                extra = self._update_person(s, obj, body)
            elif model == "day-offs":
                self._check_day_off_write(obj.person_id)
                if "person_id" in body and body["person_id"] != obj.person_id:
                    self._check_day_off_write(body["person_id"])
                self._apply(obj, body, WRITABLE[model])
                self._check_day_off(s, obj)
            else:
                self._require_admin()
                protected = {"project_id"} if model.startswith("search") else set()
                if model == "organisations" and "hours_by_day" in body:
                    try:
                        float(body["hours_by_day"])
                    except (TypeError, ValueError):
                        raise Invalid("hours_by_day must be a number.", {"data": None}) from None
                self._apply(obj, body, [f for f in WRITABLE[model] if f not in protected])
            obj.updated_at = now()
            self._flush_unique(s, model)
            record = schemas.person_full(obj) if model == "persons" else row_dict(obj)
            self.store.emit(s, f"{prefix}:update", {f"{prefix.replace('-', '_')}_id": obj.id}, record=record)
            doc = schemas.person_full(obj) if model == "persons" and self.caller.role in ("admin", "manager") \
                else self._dump(model, obj)
            doc.update(extra)
            return doc

    def _update_person(self, s, person: Person, body: dict) -> dict:
        is_admin = self.caller.role == "admin"
        if not is_admin and self.caller.user_id != person.id:
            raise Forbidden("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")
        if is_admin and "role" in body and body["role"] not in domain.ROLES:
            raise Invalid("Invalid role", {"data": None})
        if is_admin and body.get("contract_type") and body["contract_type"] not in domain.CONTRACT_TYPES:
            raise Invalid("Invalid contract_type", {"data": None})
        if "email" in body:
            body = dict(body)
            body["email"] = self._checked_email(s, body["email"], person.id, bool(body.get("is_bot", person.is_bot)))
        was_active = person.active
        old_expiration = person.expiration_date
        if is_admin:
            self._check_expiration(body, old_expiration)
        # Allow-list per reader: an artist's role, active or bot flags are
        # silently dropped (Zou answers 200 and leaves them unchanged).
        self._apply(person, body, schemas.ADMIN_WRITABLE if is_admin else schemas.SELF_WRITABLE)
        schemas.normalise_person(person)
        if is_admin and "departments" in body:
            self._set_departments(s, person, body["departments"])
        if is_admin and body.get("password"):
            self._credential(s, person.id).password_hash = domain.hash_password(str(body["password"]))
        if was_active and not person.active:
            self._revoke_all(s, person.id)
        extra = {}
        if is_admin and person.is_bot and "expiration_date" in body and (
            person.expiration_date is None or person.expiration_date >= dt.date.today()
        ) and (person.expiration_date != old_expiration or not self._credential(s, person.id).bot_jti):
            extra["access_token"] = self._bot_token(s, person)
        return extra

    @rpc(**expected)
    def crud_delete(self, model, instance_id, query=None, body=None):
        cls, prefix, _ = self._model(model)
        force = str((query or {}).get("force", "")).lower() in ("true", "1", "yes")
        with self.store.begin() as s:
            obj = self._get_row(s, model, instance_id)
            if model == "day-offs":
                self._check_day_off_write(obj.person_id)
            else:
                self._require_admin()
            if model == "persons":
                if obj.id == self.caller.user_id:
                    raise Forbidden("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")
                record = schemas.person_full(obj)
                self._delete_person_data(s, obj, force)
            else:
                record = row_dict(obj)
            s.delete(obj)
            try:
                s.flush()
            except IntegrityError:
                raise Invalid(f"{CRUD[model][2]} is still used and cannot be deleted") from None
            self.store.emit(s, f"{prefix}:delete", {f"{prefix.replace('-', '_')}_id": record["id"]}, record=record)
        return None

    def _delete_person_data(self, s, person: Person, force: bool) -> None:
        """Zou refuses to delete a person who has left traces (a login is
        enough) unless ``force``; with it, those traces go too."""
        linked = (LoginLog, DesktopLoginLog, DayOff, SearchFilter, SearchFilterGroup)
        if not force:
            for table in linked:
                if s.scalars(select(table.id).where(table.person_id == person.id).limit(1)).first():
                    raise Invalid("Some data are still linked to given person.", {"data": None})
            return
        for table in linked:
            s.execute(delete(table).where(table.person_id == person.id))
        redis_store.client().delete(f"slate:auth:sessions:{person.id}")

    # ---------------------------------------------------------------- persons' actions
    @rpc(**expected)
    def clear_avatar(self, person_id=None, query=None, body=None):
        if person_id is not None:
            self._require_admin()
        person_id = person_id or self.caller.user_id
        with self.store.begin() as s:
            person = self._person(s, person_id, not_found_on_malformed=True)
            person.has_avatar = False
            person.updated_at = now()
            self._emit_person(s, "person:update", person)
        return None

    def _department_or_invalid(self, s, department_id) -> Department:
        try:
            dep = s.get(Department, valid_uuid(department_id, "department id"))
        except Invalid:
            dep = None
        if dep is None:
            raise Invalid("Department ID matches no department", {"data": None})
        return dep

    @rpc(**expected)
    def add_person_to_department(self, person_id, query=None, body=None):
        self._require_admin()
        body = body if isinstance(body, dict) else {}
        raw = body.get("department_id")
        if raw is None:
            raise validation_error([("department_id", "Field required")])
        try:
            valid_uuid(raw)
        except Invalid:
            raise validation_error([("department_id", "Input should be a valid UUID")]) from None
        with self.store.begin() as s:
            person = self._person(s, person_id, not_found_on_malformed=True)
            dep = self._department_or_invalid(s, raw)
            if dep not in person.departments:
                person.departments.append(dep)
            person.updated_at = now()
            self._emit_person(s, "person:update", person)
            return schemas.person_full(person)

    @rpc(**expected)
    def remove_person_from_department(self, person_id, department_id, query=None, body=None):
        self._require_admin()
        with self.store.begin() as s:
            person = self._person(s, person_id, not_found_on_malformed=True)
            dep = self._department_or_invalid(s, department_id)
            person.departments = [d for d in person.departments if d.id != dep.id]
            person.updated_at = now()
            self._emit_person(s, "person:update", person)
        return None

    @rpc(**expected)
    def department_persons(self, department_id, query=None, body=None):
        with self.store.session() as s:
            try:
                dep = s.get(Department, valid_uuid(department_id, "department id"))
            except Invalid:
                raise malformed_id() from None
            if dep is None:
                raise not_found()
            persons = s.scalars(
                select(Person).where(Person.departments.any(Department.id == dep.id))
                .order_by(Person.first_name, Person.last_name)
            ).all()
            if self.caller.role == "admin":
                return [schemas.person_full(p) for p in persons]
            return [schemas.person_minimal(p, relations=True) for p in persons]

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
        body = dict(body) if isinstance(body, dict) else {}
        problems = [(f, "Field required") for f in ("name", "query") if body.get(f) is None]
        if problems:
            raise validation_error(problems)
        body["search_query"] = body.pop("query")
        body.setdefault("list_type", "todo")
        return self._create_own(SearchFilter, body, WRITABLE["search-filters"])

    @rpc(**expected)
    def create_user_filter_group(self, query=None, body=None):
        body = dict(body) if isinstance(body, dict) else {}
        if body.get("name") is None:
            raise validation_error([("name", "Field required")])
        body.setdefault("list_type", "todo")
        body.setdefault("color", "")
        return self._create_own(SearchFilterGroup, body, WRITABLE["search-filter-groups"])

    def _create_own(self, cls, body, writable):
        """The caller's own filter or group. Zou emits no event for these."""
        with self.store.begin() as s:
            obj = cls()
            self._apply(obj, body, [f for f in writable if f != "person_id"])
            obj.person_id = self.caller.user_id
            if obj.is_shared and self.caller.role not in ("admin", "manager", "supervisor"):
                obj.is_shared = False
            if getattr(obj, "search_filter_group_id", None):
                group = s.get(SearchFilterGroup, valid_uuid(obj.search_filter_group_id, "group id"))
                if group is None or group.person_id != self.caller.user_id:
                    raise not_found()
                if bool(group.is_shared) != bool(obj.is_shared):
                    raise Invalid("A search filter must be shared like its group.")
            if getattr(obj, "department_id", None):
                try:
                    self._department_or_invalid(s, obj.department_id)
                except Invalid:
                    raise not_found() from None
            s.add(obj)
            s.flush()
            return row_dict(obj, type_name=cls.__name__)

    def _own(self, s, cls, instance_id):
        try:
            key = valid_uuid(instance_id)
        except Invalid:
            raise malformed_id() from None
        obj = s.get(cls, key)
        if obj is None or (obj.person_id != self.caller.user_id and self.caller.role != "admin"):
            raise not_found()
        return obj

    @rpc(**expected)
    def get_user_filter_group(self, filter_group_id, query=None, body=None):
        with self.store.session() as s:
            return row_dict(self._own(s, SearchFilterGroup, filter_group_id), type_name="SearchFilterGroup")

    @rpc(**expected)
    def update_user_filter(self, filter_id, query=None, body=None):
        return self._update_own(SearchFilter, filter_id, body,
                                ("name", "search_query", "search_filter_group_id", "is_shared", "project_id",
                                 "department_id"))

    @rpc(**expected)
    def update_user_filter_group(self, filter_group_id, query=None, body=None):
        return self._update_own(SearchFilterGroup, filter_group_id, body,
                                ("name", "color", "is_shared", "project_id", "department_id"))

    def _update_own(self, cls, instance_id, body, writable):
        with self.store.begin() as s:
            obj = self._own(s, cls, instance_id)
            self._apply(obj, body if isinstance(body, dict) else {}, writable)
            obj.updated_at = now()
            return row_dict(obj, type_name=cls.__name__)

    @rpc(**expected)
    def delete_user_filter(self, filter_id, query=None, body=None):
        with self.store.begin() as s:
            s.delete(self._own(s, SearchFilter, filter_id))
        return None

    @rpc(**expected)
    def delete_user_filter_group(self, filter_group_id, query=None, body=None):
        with self.store.begin() as s:
            obj = self._own(s, SearchFilterGroup, filter_group_id)
            s.execute(delete(SearchFilter).where(SearchFilter.search_filter_group_id == obj.id))
            s.delete(obj)
        return None

    # ---------------------------------------------------------------- desktop login logs
    @rpc(**expected)
    def desktop_login_logs(self, person_id=None, query=None, body=None):
        person_id = person_id or self.caller.user_id
        if person_id != self.caller.user_id and self.caller.role not in ("admin", "manager"):
            raise Forbidden("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")
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
        if person_id != self.caller.user_id and self.caller.role != "admin":
            raise Forbidden("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")
        body = body if isinstance(body, dict) else {}
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
            person.updated_at = now()
            self._emit_person(s, "person:update", person)
            return row_dict(log_row, type_name="DesktopLoginLog")


def _nest(rows, type_name) -> dict:
    out: dict = {}
    for r in rows:
        doc = row_dict(r, type_name=type_name)
        out.setdefault(r.list_type, {}).setdefault(r.project_id or "all", []).append(doc)
    return out


Service = AuthService
