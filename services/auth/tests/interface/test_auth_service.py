"""The auth service alone on the real broker, database and Redis.

Entrypoints are driven with nameko's ``entrypoint_hook`` so the calls reach
this in-process container (with this test's env, e.g. a short lock window)
even when the session's end-to-end suite runs its own auth on the same vhost.
"""

from __future__ import annotations

import uuid

import pyotp
import pytest
from nameko.testing.services import entrypoint_hook
from slate_auth import redis_store
from slate_auth.service import AuthService
from slatekit import db
from slatekit.errors import Invalid, Locked
from sqlalchemy import text

ADMIN = {"role": "admin", "user_id": str(uuid.uuid4())}


@pytest.fixture
def auth(run_service, monkeypatch):
    container = run_service(AuthService)

    def call(method, context=None, **kwargs):
        with entrypoint_hook(container, method, context_data=context or ADMIN) as hook:
            return hook(**kwargs)

    return call


def new_person(auth, password="interface-pass-1", **extra):
    n = uuid.uuid4().hex[:8]
    body = {"email": f"i{n}@example.com", "first_name": "Int", "last_name": n, "password": password, **extra}
    return auth("crud_create", model="persons", body=body)


def caller(person):
    return {"user_id": person["id"], "role": person["role"]}


def outbox_records(person_id):
    engine = db.engine_for("auth")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, body FROM auth.outbox WHERE body->'data'->>'person_id' = :pid ORDER BY id"),
            {"pid": person_id},
        ).all()
    return [(name, body) for name, body in rows]


def test_locked_account_unlocks_once_the_window_has_passed(auth, monkeypatch):
    monkeypatch.setenv("LOGIN_LOCK_ATTEMPTS", "2")  # fewer bcrypt rounds; 5 is covered end to end
    monkeypatch.setenv("LOGIN_LOCK_SECONDS", "30")
    person = new_person(auth)
    for _ in range(2):
        with pytest.raises(Invalid):
            auth("login", body={"email": person["email"], "password": "wrong"})
    with pytest.raises(Locked):
        auth("login", body={"email": person["email"], "password": "interface-pass-1"})
    # Blocked attempts do not extend the lock: move the last counted failure
    # past the window instead of sleeping through it.
    with db.engine_for("auth").begin() as conn:
        conn.execute(text("UPDATE auth.credential SET last_login_failed = last_login_failed - interval '31 seconds' "
                          "WHERE person_id = :p"), {"p": person["id"]})
    assert auth("login", body={"email": person["email"], "password": "interface-pass-1"})["login"] is True
    with pytest.raises(Invalid) as wrong:  # the count starts over: one failure does not lock again
        auth("login", body={"email": person["email"], "password": "wrong"})
    assert not isinstance(wrong.value, Locked)


def test_email_otp_enrolment_then_login_with_the_mailed_code(auth):
    person = new_person(auth)
    me = caller(person)
    assert auth("pre_enable_email_otp", me) == {"success": True}

    def mailed_code():
        with db.engine_for("auth").connect() as conn:
            secret = conn.execute(text("SELECT email_otp_secret FROM auth.credential WHERE person_id = :p"),
                                  {"p": person["id"]}).scalar()
        count = redis_store.get(f"email-otp-count-{person['id']}")
        return pyotp.HOTP(secret).at(int(count))

    with pytest.raises(Invalid) as wrong:
        auth("enable_email_otp", me, body={"email_otp": "000000"})
    assert wrong.value.extra["wrong_OTP"] is True
    enabled = auth("enable_email_otp", me, body={"email_otp": mailed_code()})
    assert len(enabled["otp_recovery_codes"]) == 16 and enabled["refresh_token"]

    with pytest.raises(Invalid) as missing:
        auth("login", body={"email": person["email"], "password": "interface-pass-1"})
    assert missing.value.extra["missing_OTP"] is True
    assert missing.value.extra["preferred_two_factor_authentication"] == "email_otp"
    assert auth("send_email_otp", {}, query={"email": person["email"]}) == {"success": True}
    code = mailed_code()
    body = auth("login", body={"email": person["email"], "password": "interface-pass-1", "email_otp": code})
    assert body["login"] is True
    # a mailed code works once
    with pytest.raises(Invalid):
        auth("login", body={"email": person["email"], "password": "interface-pass-1", "email_otp": code})


def test_totp_recovery_codes_can_be_regenerated_with_a_second_factor(auth):
    person = new_person(auth)
    me = caller(person)
    secret = auth("pre_enable_totp", me)["otp_secret"]
    first = auth("enable_totp", me, body={"totp": pyotp.TOTP(secret).now()})["otp_recovery_codes"]
    with pytest.raises(Invalid) as wrong:
        auth("new_recovery_codes", me, body={"totp": "000000"})
    assert wrong.value.message == "OTP verification failed."
    fresh = auth("new_recovery_codes", me, body={"recovery_code": first[0]})["otp_recovery_codes"]
    assert set(fresh).isdisjoint(first)
    with pytest.raises(Invalid):  # the old codes are gone
        auth("login", body={"email": person["email"], "password": "interface-pass-1", "recovery_code": first[1]})
    assert auth("login", body={"email": person["email"], "password": "interface-pass-1",
                               "recovery_code": fresh[0]})["login"] is True


def test_fido_registration_options_use_the_domain_as_relying_party(auth, monkeypatch):
    monkeypatch.setenv("DOMAIN_NAME", "kitsu.example.com:8443")
    person = new_person(auth)
    options = auth("pre_register_fido", caller(person))
    assert options["rp"] == {"name": "Kitsu", "id": "kitsu.example.com"}
    assert options["user"]["name"] == person["email"]
    with pytest.raises(Invalid) as bad:
        auth("register_fido", caller(person), body={"registration_response": {"id": "x"}, "device_name": "key"})
    assert bad.value.message == "FIDO server exception your registration response is probly wrong."
    with pytest.raises(Invalid) as again:  # the ceremony state is single use
        auth("register_fido", caller(person), body={"registration_response": {"id": "x"}, "device_name": "key"})
    assert again.value.message == "No preregistration before."


def test_every_person_event_carries_the_full_person_record(auth):
    person = new_person(auth)
    dep = auth("crud_create", model="departments", body={"name": "Dep " + uuid.uuid4().hex[:6], "color": "#123456"})
    auth("add_person_to_department", person_id=person["id"], body={"department_id": dep["id"]})
    auth("crud_update", model="persons", instance_id=person["id"], body={"phone": "555"})
    auth("clear_avatar", person_id=person["id"])
    auth("create_desktop_login_log", caller(person), body={})
    auth("crud_delete", model="persons", instance_id=person["id"], query={"force": "true"})
    events = outbox_records(person["id"])
    names = [name for name, _ in events]
    assert names[0] == "person:new" and names[-1] == "person:delete"
    assert names.count("person:update") == 4
    for _name, body in events:
        record = body["record"]
        assert {"role", "active", "departments", "full_name", "has_avatar", "first_name", "last_name"} <= set(record)
        assert not {"password", "totp_secret", "otp_recovery_codes", "jti"} & set(record)
    assert events[1][1]["record"]["departments"] == [dep["id"]]


def test_admin_bootstrap_emits_person_with_record(auth):
    email = f"boot{uuid.uuid4().hex[:8]}@example.com"
    created = auth("set_password", email=email.upper(), password="bootstrap-pass-1")
    assert created["created"] is True
    (name, body), = outbox_records(created["id"])
    assert name == "person:new" and body["record"]["role"] == "admin" and body["record"]["email"] == email


def test_export_persons_pages_in_id_order(auth):
    for _ in range(3):
        new_person(auth)
    first = auth("export_persons", limit=2)
    assert len(first) == 2 and first[0]["id"] < first[1]["id"]
    rest = auth("export_persons", after=first[-1]["id"], limit=1000)
    assert rest and all(p["id"] > first[-1]["id"] for p in rest)
    assert {"role", "active", "departments", "full_name", "has_avatar"} <= set(rest[0])


def test_enforced_2fa_gives_restricted_tokens_until_a_factor_is_set_up(auth, monkeypatch):
    import jwt
    from slatekit import config

    monkeypatch.setenv("ENFORCE_2FA", "true")
    person = new_person(auth)
    body = auth("login", body={"email": person["email"], "password": "interface-pass-1"})
    assert body["two_factor_authentication_required"] is True
    claims = jwt.decode(body["access_token"], config.secret_key(), algorithms=["HS256"])
    assert claims["requires_2fa_setup"] is True
    assert redis_store.client().exists(f"slate:2fa-setup:{claims['sid']}")
    refreshed = auth("refresh", claims={"sid": claims["sid"], "sub": person["id"]})
    assert jwt.decode(refreshed["access_token"], config.secret_key(), algorithms=["HS256"])["requires_2fa_setup"]

    me = caller(person)
    secret = auth("pre_enable_totp", me)["otp_secret"]
    enabled = auth("enable_totp", me, body={"totp": pyotp.TOTP(secret).now()})
    fresh = jwt.decode(enabled["access_token"], config.secret_key(), algorithms=["HS256"])
    assert "requires_2fa_setup" not in fresh
    assert not redis_store.client().exists(f"slate:2fa-setup:{fresh['sid']}")


class SoftAuthenticator:
    """A WebAuthn authenticator in software (P-256, "none" attestation)."""

    def __init__(self, rp_id="localhost", origin="http://localhost:8080"):
        import os as _os

        from cryptography.hazmat.primitives.asymmetric import ec

        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = _os.urandom(16)
        self.sign_count = 0

    @staticmethod
    def b64(data: bytes) -> str:
        import base64

        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def _client_data(self, kind, challenge):
        import json as _json

        return _json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                            "crossOrigin": False}).encode()

    def _auth_data(self, flags, attested=b""):
        import hashlib
        import struct

        self.sign_count += 1
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def register(self, options):
        import struct

        import cbor2

        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        auth_data = self._auth_data(0x41, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cid = self.b64(self.credential_id)
        return {"id": cid, "rawId": cid, "type": "public-key", "response": {
            "clientDataJSON": self.b64(self._client_data("webauthn.create", options["challenge"])),
            "attestationObject": self.b64(attestation)}}

    def assert_(self, options):
        import hashlib

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        client_data = self._client_data("webauthn.get", options["challenge"])
        auth_data = self._auth_data(0x01)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        cid = self.b64(self.credential_id)
        return {"id": cid, "rawId": cid, "type": "public-key", "response": {
            "clientDataJSON": self.b64(client_data), "authenticatorData": self.b64(auth_data),
            "signature": self.b64(signature)}}


def test_fido_device_registers_then_logs_in_and_a_replayed_assertion_fails(auth, monkeypatch):
    monkeypatch.setenv("DOMAIN_NAME", "localhost:8080")
    monkeypatch.setenv("DOMAIN_PROTOCOL", "http")
    person = new_person(auth)
    me = caller(person)
    device = SoftAuthenticator()
    options = auth("pre_register_fido", me)
    registered = auth("register_fido", me, body={"registration_response": device.register(options),
                                                 "device_name": "yubi"})
    assert len(registered["otp_recovery_codes"]) == 16
    assert auth("authenticated", me)["user"]["fido_devices"] == ["yubi"]

    with pytest.raises(Invalid) as missing:
        auth("login", body={"email": person["email"], "password": "interface-pass-1"})
    assert missing.value.extra["two_factor_authentication_enabled"] == ["recovery_code", "fido"]
    challenge = auth("fido_challenge", {}, query={"email": person["email"]})
    assertion = device.assert_(challenge)
    body = auth("login", body={"email": person["email"], "password": "interface-pass-1",
                               "fido_authentication_response": assertion})
    assert body["login"] is True
    with pytest.raises(Invalid) as replay:  # the challenge was used up
        auth("login", body={"email": person["email"], "password": "interface-pass-1",
                            "fido_authentication_response": assertion})
    assert replay.value.extra["wrong_OTP"] is True

    auth("fido_challenge", {}, query={"email": person["email"]})
    with pytest.raises(Invalid):  # unregistering needs a second factor
        auth("unregister_fido", me, body={"device_name": "yubi"})
    challenge = auth("fido_challenge", {}, query={"email": person["email"]})
    assert auth("unregister_fido", me, body={"device_name": "yubi",
                                             "fido_authentication_response": device.assert_(challenge)}) == {"success": True}
    assert auth("login", body={"email": person["email"], "password": "interface-pass-1"})["login"] is True
