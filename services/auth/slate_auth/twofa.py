"""Second factors: TOTP, one-time codes by email, FIDO/WebAuthn devices and
recovery codes, with Zou's routes and bodies (``/auth/totp``,
``/auth/email-otp``, ``/auth/fido``, ``/auth/recovery-codes``, the admin's
``disable-two-factor-authentication``).

Secrets stay in ``credential``. Ceremony states (WebAuthn challenges, the
counter of the last mailed code) live in Redis with a TTL, so any replica can
finish a ceremony another one started. Zou emits no event for these changes.
"""

from __future__ import annotations

import json
import logging
import os
from urllib.parse import urlsplit

import pyotp
from nameko.rpc import rpc
from slatekit import config
from slatekit.errors import SLATE_ERRORS, Forbidden, Invalid
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from . import domain, mail, redis_store
from .errors import validation_error, wrong_otp
from .models import Credential, Person

log = logging.getLogger(__name__)
expected = {"expected_exceptions": SLATE_ERRORS}
EMAIL_OTP_TTL = 300
EMAIL_OTP_SENDS = 5
FIDO_STATE_TTL = 300

MISSING = "missing"
WRONG = "wrong"
OK = "ok"


def _rp() -> tuple[str, str]:
    """WebAuthn relying party id (host of DOMAIN_NAME) and expected origin."""
    domain_name = config.get("DOMAIN_NAME") or "localhost"
    protocol = config.get("DOMAIN_PROTOCOL") or "http"
    host = urlsplit(f"//{domain_name}").hostname or "localhost"
    return host, f"{protocol}://{domain_name}"


def _b64(data: bytes) -> str:
    from webauthn.helpers import bytes_to_base64url

    return bytes_to_base64url(data)


def _unb64(text: str) -> bytes:
    from webauthn.helpers import base64url_to_bytes

    return base64url_to_bytes(text)


def _two_factor_body(body) -> dict:
    body = body if isinstance(body, dict) else {}
    for key in ("totp", "email_otp", "recovery_code"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise validation_error([(key, "Input should be a valid string")])
    if body.get("fido_authentication_response") is not None and not isinstance(
        body["fido_authentication_response"], dict
    ):
        raise validation_error([("fido_authentication_response", "Input should be a valid dictionary")])
    return body


class SecondFactorMixin:
    """Mixed into AuthService; uses its ``store``, ``caller`` and helpers."""

    # ------------------------------------------------------------ the check
    def _second_factor(self, s, person: Person, cred: Credential, body: dict) -> str:
        """Zou's order: TOTP, then mailed code, then FIDO, then a recovery
        code. A used recovery code is removed (single use)."""
        body = _two_factor_body(body)
        if person.totp_enabled and body.get("totp") is not None:
            ok = bool(cred.totp_secret) and pyotp.TOTP(cred.totp_secret).verify(body["totp"].strip(), valid_window=1)
            return OK if ok else WRONG
        if person.email_otp_enabled and body.get("email_otp") is not None:
            return OK if self._check_email_otp(person, cred, body["email_otp"]) else WRONG
        if person.fido_enabled and body.get("fido_authentication_response") is not None:
            return OK if self._check_fido(person, cred, body["fido_authentication_response"]) else WRONG
        if body.get("recovery_code") is not None:
            index = domain.match_recovery_code(body["recovery_code"], cred.otp_recovery_codes)
            if index is None:
                return WRONG
            codes = list(cred.otp_recovery_codes)
            del codes[index]
            cred.otp_recovery_codes = codes
            flag_modified(cred, "otp_recovery_codes")
            return OK
        return MISSING

    def _check_second_factor(self, s, person: Person, cred: Credential, body: dict, login: bool = False):
        """At login: None when no second factor is needed or it is right,
        else the error to answer (Zou's missing_OTP / wrong_OTP bodies)."""
        if not _has_2fa(person):
            return None
        result = self._second_factor(s, person, cred, body)
        if result == OK:
            return None
        if result == MISSING:
            return Invalid(
                "A two-factor authentication code is required.",
                {
                    "login": False,
                    "missing_OTP": True,
                    "preferred_two_factor_authentication": person.preferred_two_factor_authentication,
                    "two_factor_authentication_enabled": domain.enabled_methods(
                        person.totp_enabled, person.email_otp_enabled, person.fido_enabled
                    ),
                },
            )
        return Invalid("Wrong two-factor authentication code.", {"login": False, "wrong_OTP": True})

    def _me(self, s) -> tuple[Person, Credential]:
        person = self._person(s, self.caller.user_id)
        if person.is_bot:
            raise Forbidden("Bots have no second factor.")
        return person, self._credential(s, person.id)

    def _enable(self, person: Person, cred: Credential, method: str) -> dict:
        """Record a method as enabled; codes are issued on the first method
        only (None afterwards, as Zou). Fresh tokens come back (Zou re-issues
        them after a 2FA registration)."""
        codes = None
        if not cred.otp_recovery_codes:
            codes = domain.new_recovery_codes()
            cred.otp_recovery_codes = domain.hash_recovery_codes(codes)
        if not person.preferred_two_factor_authentication:
            person.preferred_two_factor_authentication = method
        return {"otp_recovery_codes": codes, **self._tokens(person)}

    @staticmethod
    def _after_disable(person: Person, cred: Credential, method: str) -> None:
        enabled = {"totp": person.totp_enabled, "email_otp": person.email_otp_enabled, "fido": person.fido_enabled}
        person.preferred_two_factor_authentication = domain.preferred_after_disable(
            person.preferred_two_factor_authentication, method, enabled
        )
        if not any(enabled.values()):
            cred.otp_recovery_codes = None

    def _require_second_factor(self, s, person, cred, body, not_enabled: str) -> None:
        if not _has_2fa(person):
            raise Invalid(not_enabled)
        if self._second_factor(s, person, cred, body) != OK:
            raise wrong_otp()

    # ------------------------------------------------------------ TOTP
    @rpc(**expected)
    def pre_enable_totp(self, query=None, body=None):
        with self.store.begin() as s:
            person, cred = self._me(s)
            if person.totp_enabled:
                raise Invalid("TOTP already enabled.")
            cred.totp_secret = pyotp.random_base32()
            org = self._organisation(s)
            uri = pyotp.TOTP(cred.totp_secret).provisioning_uri(
                name=person.email or person.id, issuer_name=f"Kitsu {org.name}"
            )
            return {"totp_provisionning_uri": uri, "otp_secret": cred.totp_secret}

    @rpc(**expected)
    def enable_totp(self, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        code = body.get("totp")
        if code is None:
            raise validation_error([("totp", "Field required")])
        if not isinstance(code, str):
            raise validation_error([("totp", "Input should be a valid string")])
        with self.store.begin() as s:
            person, cred = self._me(s)
            if person.totp_enabled:
                raise Invalid("TOTP already enabled.")
            if not cred.totp_secret or not pyotp.TOTP(cred.totp_secret).verify(code.strip(), valid_window=1):
                raise wrong_otp("TOTP verification failed.")
            person.totp_enabled = True
            return self._enable(person, cred, "totp")

    @rpc(**expected)
    def disable_totp(self, query=None, body=None):
        with self.store.begin() as s:
            person, cred = self._me(s)
            self._require_second_factor(s, person, cred, body, "TOTP not enabled.")
            if not person.totp_enabled:
                raise Invalid("TOTP not enabled.")
            person.totp_enabled = False
            cred.totp_secret = None
            self._after_disable(person, cred, "totp")
            return {"success": True}

    # ------------------------------------------------------------ email OTP
    def _mail_otp(self, person: Person, cred: Credential) -> None:
        """Mail a fresh code (the previous one stops working). At most
        EMAIL_OTP_SENDS per 10 minutes per person: beyond, nothing is sent
        (the public route answers the same either way)."""
        import secrets as _secrets

        if not mail.allow("email-otp", person.id, EMAIL_OTP_SENDS, 600):
            log.info("email OTP cap reached for %s", person.id)
            return
        count = _secrets.randbelow(10**12)
        code = pyotp.HOTP(cred.email_otp_secret).at(count)
        redis_store.put(f"email-otp-count-{person.id}", str(count), EMAIL_OTP_TTL)
        mail.send(
            person.email,
            "Kitsu: your verification code",
            f"Hello {person.first_name},\n\nYour verification code is {code}. It is valid for 5 minutes.\n",
        )

    def _check_email_otp(self, person: Person, cred: Credential, code: str) -> bool:
        count = redis_store.get(f"email-otp-count-{person.id}")
        if count is None or not cred.email_otp_secret:
            return False
        if pyotp.HOTP(cred.email_otp_secret).verify(code.strip(), int(count)):
            redis_store.drop(f"email-otp-count-{person.id}")
            return True
        return False

    @rpc(**expected)
    def send_email_otp(self, query=None, body=None):
        """Public: same answer whatever the account (no enumeration)."""
        email = (query or {}).get("email")
        if not email:
            raise Invalid("Missing required parameter: email", {"data": None})
        with self.store.session() as s:
            person = _find_by_login(s, email)
            if person is not None and person.active and person.email_otp_enabled:
                cred = s.get(Credential, person.id)
                if cred is not None and cred.email_otp_secret:
                    self._mail_otp(person, cred)
        return {"success": True}

    @rpc(**expected)
    def pre_enable_email_otp(self, query=None, body=None):
        with self.store.begin() as s:
            person, cred = self._me(s)
            if person.email_otp_enabled:
                raise Invalid("OTP by email already enabled.")
            cred.email_otp_secret = pyotp.random_base32()
            self._mail_otp(person, cred)
            return {"success": True}

    @rpc(**expected)
    def enable_email_otp(self, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        code = body.get("email_otp")
        if code is None:
            raise validation_error([("email_otp", "Field required")])
        if not isinstance(code, str):
            raise validation_error([("email_otp", "Input should be a valid string")])
        with self.store.begin() as s:
            person, cred = self._me(s)
            if person.email_otp_enabled:
                raise Invalid("OTP by email already enabled.")
            if not self._check_email_otp(person, cred, code):
                raise wrong_otp("OTP by email verification failed.")
            person.email_otp_enabled = True
            return self._enable(person, cred, "email_otp")

    @rpc(**expected)
    def disable_email_otp(self, query=None, body=None):
        with self.store.begin() as s:
            person, cred = self._me(s)
            self._require_second_factor(s, person, cred, body, "OTP by email not enabled.")
            if not person.email_otp_enabled:
                raise Invalid("OTP by email not enabled.")
            person.email_otp_enabled = False
            cred.email_otp_secret = None
            self._after_disable(person, cred, "email_otp")
            return {"success": True}

    # ------------------------------------------------------------ FIDO / WebAuthn
    def _check_fido(self, person: Person, cred: Credential, response: dict) -> bool:
        from webauthn import verify_authentication_response

        state = redis_store.take(f"fido-state-{person.id}")
        if not state:
            return False
        state = json.loads(state)
        if state.get("kind") != "authenticate":
            return False
        raw_id = response.get("rawId") or response.get("id")
        for device in cred.fido_credentials or []:
            if device.get("credential_id") != raw_id:
                continue
            rp_id, origin = _rp()
            try:
                verified = verify_authentication_response(
                    credential=response,
                    expected_challenge=_unb64(state["challenge"]),
                    expected_rp_id=rp_id,
                    expected_origin=origin,
                    credential_public_key=_unb64(device["public_key"]),
                    credential_current_sign_count=int(device.get("sign_count") or 0),
                )
            except Exception as exc:  # noqa: BLE001 - any verification failure is a wrong factor
                log.info("FIDO authentication failed for %s: %s", person.id, exc)
                return False
            device["sign_count"] = verified.new_sign_count
            flag_modified(cred, "fido_credentials")
            return True
        return False

    @rpc(**expected)
    def fido_challenge(self, query=None, body=None):
        """Public: WebAuthn request options for a person who has FIDO."""
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import PublicKeyCredentialDescriptor

        email = (query or {}).get("email")
        if not email:
            raise Invalid("Missing required parameter: email", {"data": None})
        with self.store.session() as s:
            person = _find_by_login(s, email)
            cred = s.get(Credential, person.id) if person is not None else None
            if person is None or not person.active or not person.fido_enabled or cred is None:
                raise Invalid("FIDO not enabled.")
            rp_id, _ = _rp()
            options = generate_authentication_options(
                challenge=os.urandom(32),
                rp_id=rp_id,
                allow_credentials=[
                    PublicKeyCredentialDescriptor(id=_unb64(d["credential_id"])) for d in cred.fido_credentials or []
                ],
            )
            redis_store.put(
                f"fido-state-{person.id}",
                json.dumps({"kind": "authenticate", "challenge": _b64(options.challenge)}),
                FIDO_STATE_TTL,
            )
            return json.loads(options_to_json(options))

    @rpc(**expected)
    def pre_register_fido(self, query=None, body=None):
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AuthenticatorAttachment,
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        with self.store.begin() as s:
            person, cred = self._me(s)
            rp_id, _ = _rp()
            options = generate_registration_options(
                challenge=os.urandom(32),
                rp_id=rp_id,
                rp_name="Kitsu",
                user_id=person.id.encode(),
                user_name=person.email or person.id,
                user_display_name=person.full_name,
                exclude_credentials=[
                    PublicKeyCredentialDescriptor(id=_unb64(d["credential_id"])) for d in cred.fido_credentials or []
                ],
                authenticator_selection=AuthenticatorSelectionCriteria(
                    authenticator_attachment=AuthenticatorAttachment.CROSS_PLATFORM,
                    resident_key=ResidentKeyRequirement.DISCOURAGED,
                    user_verification=UserVerificationRequirement.PREFERRED,
                ),
            )
            redis_store.put(
                f"fido-state-{person.id}",
                json.dumps({"kind": "register", "challenge": _b64(options.challenge)}),
                FIDO_STATE_TTL,
            )
            return json.loads(options_to_json(options))

    @rpc(**expected)
    def register_fido(self, query=None, body=None):
        from webauthn import verify_registration_response

        body = body if isinstance(body, dict) else {}
        problems = []
        if body.get("registration_response") is None:
            problems.append(("registration_response", "Field required"))
        elif not isinstance(body["registration_response"], dict):
            problems.append(("registration_response", "Input should be a valid dictionary"))
        if body.get("device_name") is None:
            problems.append(("device_name", "Field required"))
        elif not isinstance(body["device_name"], str) or not body["device_name"]:
            problems.append(("device_name", "String should have at least 1 character"))
        if problems:
            raise validation_error(problems)
        with self.store.begin() as s:
            person, cred = self._me(s)
            state = redis_store.take(f"fido-state-{person.id}")
            state = json.loads(state) if state else None
            if not state or state.get("kind") != "register":
                raise Invalid("No preregistration before.")
            rp_id, origin = _rp()
            try:
                verified = verify_registration_response(
                    credential=body["registration_response"],
                    expected_challenge=_unb64(state["challenge"]),
                    expected_rp_id=rp_id,
                    expected_origin=origin,
                )
            except Exception as exc:  # noqa: BLE001 - any failure is the client's response
                log.info("FIDO registration failed for %s: %s", person.id, exc)
                raise Invalid("FIDO server exception your registration response is probly wrong.") from None
            devices = list(cred.fido_credentials or [])
            devices.append({
                "device_name": body["device_name"],
                "credential_id": _b64(verified.credential_id),
                "public_key": _b64(verified.credential_public_key),
                "sign_count": verified.sign_count,
            })
            cred.fido_credentials = devices
            flag_modified(cred, "fido_credentials")
            person.fido_enabled = True
            return self._enable(person, cred, "fido")

    @rpc(**expected)
    def unregister_fido(self, query=None, body=None):
        body = body if isinstance(body, dict) else {}
        if body.get("device_name") is None:
            raise validation_error([("device_name", "Field required")])
        with self.store.begin() as s:
            person, cred = self._me(s)
            if not person.fido_enabled:
                raise Invalid("FIDO not enabled.")
            if self._second_factor(s, person, cred, body) != OK:
                raise wrong_otp()
            devices = [d for d in cred.fido_credentials or [] if d.get("device_name") != body["device_name"]]
            cred.fido_credentials = devices
            flag_modified(cred, "fido_credentials")
            if not devices:
                person.fido_enabled = False
                self._after_disable(person, cred, "fido")
            return {"success": True}

    # ------------------------------------------------------------ recovery codes
    @rpc(**expected)
    def new_recovery_codes(self, query=None, body=None):
        with self.store.begin() as s:
            person, cred = self._me(s)
            self._require_second_factor(s, person, cred, body, "No two factor authentication enabled.")
            codes = domain.new_recovery_codes()
            cred.otp_recovery_codes = domain.hash_recovery_codes(codes)
            return {"otp_recovery_codes": codes}

    @rpc(**expected)
    def admin_disable_two_factor(self, person_id, query=None, body=None):
        self._require_admin()
        with self.store.begin() as s:
            person = self._person(s, person_id)
            if person.is_bot:
                raise Invalid("This person is a bot.")
            if person.role == "admin" and person.id != self.caller.user_id:
                raise Invalid("An admin can't disable 2FA for other admins.")
            if not person.active:
                raise Invalid("User is unactive.")
            if not _has_2fa(person):
                raise Invalid("Two factor authentication not enabled for this user.")
            cred = self._credential(s, person.id)
            person.totp_enabled = person.email_otp_enabled = person.fido_enabled = False
            person.preferred_two_factor_authentication = None
            cred.totp_secret = cred.email_otp_secret = None
            cred.fido_credentials = None
            cred.otp_recovery_codes = None
            log.warning("2FA of %s disabled by admin %s", person.id, self.caller.user_id)
            if person.email:
                mail.send(
                    person.email,
                    "Kitsu: two-factor authentication disabled",
                    f"Hello {person.first_name},\n\nAn administrator disabled the two-factor "
                    "authentication of your account.\n",
                )
            return {"success": True}


def _has_2fa(person: Person) -> bool:
    return bool(person.totp_enabled or person.email_otp_enabled or person.fido_enabled)


def _find_by_login(s, email: str) -> Person | None:
    value = str(email).strip()
    return s.scalars(
        select(Person).where(
            (Person.email == value.lower()) | (Person.desktop_login == value), Person.is_bot.is_(False)
        ).order_by(Person.created_at)
    ).first()
