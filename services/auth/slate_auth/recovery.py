"""Getting back in: password reset by mail, invitations, admin reset links,
and Zou 1.0.97's app login (a PKCE code minted in the browser, traded by a
desktop app or script for its own tokens).

Reset tokens and app-login codes live in Redis with a TTL (Zou's
``auth_tokens_store`` keys). Links are built from DOMAIN_PROTOCOL and
DOMAIN_NAME only. Zou emits no event for any of these.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from urllib.parse import urlencode

from nameko.rpc import rpc
from slatekit.errors import SLATE_ERRORS, Invalid, RateLimited
from sqlalchemy import select

from . import domain, mail, redis_store, schemas
from .errors import validation_error
from .models import LoginLog, Person

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}
RESET_TTL = 2 * 3600
INVITE_TTL = 7 * 24 * 3600
APP_LOGIN_CODE_TTL = 60
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url SHA-256 (RFC 7636)
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def reset_url(email: str, token: str, token_type: str | None = None) -> str:
    params = {"email": email, "token": token}
    if token_type:
        params["type"] = token_type
    return mail.public_url("/reset-change-password?" + urlencode(params))


def _strings(body, fields) -> dict:
    """Zou's pydantic checks for required non-empty strings."""
    body = body if isinstance(body, dict) else {}
    problems = []
    for f in fields:
        v = body.get(f)
        if v is None:
            problems.append((f, "Field required"))
        elif not isinstance(v, str):
            problems.append((f, "Input should be a valid string"))
        elif not v:
            problems.append((f, "String should have at least 1 character"))
    if problems:
        raise validation_error(problems)
    return body


class RecoveryMixin:
    """Mixed into AuthService; uses its ``store``, ``caller`` and helpers."""

    @rpc(**expected)
    def request_password_reset(self, query=None, body=None):
        """Public. Always the same answer (no account enumeration)."""
        body = _strings(body, ("email",))
        email = body["email"].strip().lower()
        with self.store.session() as s:
            person = s.scalars(
                select(Person).where(Person.email == email, Person.is_bot.is_(False))
            ).first()
            if person is not None and person.active and mail.allow("reset", email, 5, 3600):
                token = domain.new_reset_token()
                redis_store.put(f"reset-token-{email}", token, RESET_TTL)
                mail.send(
                    email,
                    f"{self._organisation(s).name} - Password recovery",
                    f"Hello {person.first_name},\n\nFollow this link to choose a new password "
                    f"(valid 2 hours):\n{reset_url(email, token)}\n\n"
                    "If you did not ask for it, ignore this mail.\n",
                )
        return {"success": "Reset token sent"}

    @rpc(**expected)
    def reset_password(self, query=None, body=None):
        """Public: apply a reset with the mailed (or default-password) token.
        The token is checked before the password rules, and consumed only on
        success."""
        body = _strings(body, ("email", "token", "password", "password2"))
        email = body["email"].strip().lower()
        stored = redis_store.get(f"reset-token-{email}")
        if not stored or not hmac.compare_digest(stored.encode(), body["token"].encode()):
            raise Invalid("Wrong or expired token.")
        if body["password"] != body["password2"]:
            raise Invalid("Confirmation password doesn't match.")
        problem = domain.password_problem(body["password"])
        if problem:
            raise Invalid(problem)
        with self.store.begin() as s:
            person = s.scalars(select(Person).where(Person.email == email, Person.is_bot.is_(False))).first()
            if person is None:
                raise Invalid("Wrong or expired token.")
            if not person.active:
                raise Invalid("User is inactive.")
            cred = self._credential(s, person.id)
            cred.password_hash = domain.hash_password(body["password"])
            cred.login_failed_attemps = 0
            cred.last_login_failed = None
        redis_store.drop(f"reset-token-{email}")
        return {"success": True}

    def _resettable(self, s, person_id) -> Person:
        self._require_admin()
        person = self._person(s, person_id)
        if person.is_bot:
            raise Invalid("This person is a bot.")
        if not person.email:
            raise Invalid("This person has no email.")
        if person.id != self.caller.user_id and person.role == "admin":
            cred = self._credential(s, person.id)
            if cred.password_hash:
                raise Invalid("An admin can't change another admin's password.")
        return person

    @rpc(**expected)
    def invite_person(self, person_id, query=None, body=None):
        with self.store.session() as s:
            self._require_admin()
            person = self._person(s, person_id)
            if person.is_bot:
                raise Invalid("This person is a bot.")
            if not person.email:
                raise Invalid("This person has no email.")
            if not mail.allow("invite", person.email, 10, 3600):
                raise RateLimited("Too many invitations sent to this person, retry later.")
            token = domain.new_reset_token()
            redis_store.put(f"reset-token-{person.email}", token, INVITE_TTL)
            org = self._organisation(s)
            mail.send(
                person.email,
                f"You are invited by {org.name} to join their Kitsu production tracker",
                f"Hello {person.first_name},\n\n{org.name} invites you to Kitsu. Choose your password here:\n"
                f"{reset_url(person.email, token, 'new')}\n\nYour login is {person.email}.\n",
            )
        return {"success": True, "message": "Email sent"}

    @rpc(**expected)
    def reset_password_link(self, person_id, query=None, body=None):
        """A reset link for an admin to hand over; reuses a live token so a
        link already shared stays valid."""
        with self.store.begin() as s:
            person = self._resettable(s, person_id)
            key = f"reset-token-{person.email}"
            token = redis_store.get(key)
            if not token:
                token = domain.new_reset_token()
                redis_store.put(key, token, RESET_TTL)
            log.info("%s generated a password reset link for %s", self.caller.user_id, person.id)
            return {"reset_password_link": reset_url(person.email, token)}

    # ------------------------------------------------------------ app login (PKCE)
    @rpc(**expected)
    def create_app_login_code(self, query=None, body=None):
        body = _strings(body, ("code_challenge",))
        if not CHALLENGE.match(body["code_challenge"]):
            raise validation_error([("code_challenge", "String should match pattern '^[A-Za-z0-9_-]{43}$'")])
        with self.store.session() as s:
            person = self._person(s, self.caller.user_id)
            code = secrets.token_urlsafe(32)
            redis_store.put(
                f"app-login-code-{code}",
                json.dumps({"person_id": person.id, "code_challenge": body["code_challenge"]}),
                APP_LOGIN_CODE_TTL,
            )
        return {"code": code}

    @rpc(**expected)
    def exchange_app_login_code(self, body=None, ip=None):
        """Public: single-use code + PKCE verifier → a new token pair."""
        body = _strings(body, ("code", "code_verifier"))
        if len(body["code"]) > 128:
            raise validation_error([("code", "String should have at most 128 characters")])
        if not VERIFIER.match(body["code_verifier"]):
            raise validation_error([("code_verifier", "String should match pattern '^[A-Za-z0-9._~-]{43,128}$'")])
        wrong = Invalid("Wrong or expired code.", {"login": False})
        raw = redis_store.take(f"app-login-code-{body['code']}")
        if raw is None:
            raise wrong
        data = json.loads(raw)
        if not hmac.compare_digest(domain.pkce_challenge(body["code_verifier"]), str(data["code_challenge"])):
            raise wrong
        with self.store.begin() as s:
            person = s.get(Person, data["person_id"])
            if person is None or not person.active:
                raise wrong
            tokens = self._tokens(person, restricted=self._needs_2fa_setup(person))
            s.add(LoginLog(person_id=person.id, ip_address=(ip or "")[:45], origin="script"))
            org = self._organisation(s)
            return {
                "user": schemas.person_full(person),
                "organisation": schemas.organisation_dump(org, person.role == "admin"),
                "login": True,
                **tokens,
            }
