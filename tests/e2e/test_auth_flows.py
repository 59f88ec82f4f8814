"""Auth over HTTP, as Zou behaves: login and lockout, enumeration, mass
assignment, secrets never in a response, TOTP and recovery codes, logout."""

from __future__ import annotations

import json
import os

import pyotp
import pytest
import requests

pytestmark = pytest.mark.e2e

SECRET_KEYS = {"password", "password_hash", "totp_secret", "email_otp_secret", "otp_recovery_codes_hashes",
               "fido_credentials", "jti", "bot_jti"}


def _keys(doc) -> set[str]:
    """Every key at any depth of a JSON document."""
    out = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.add(k)
            out |= _keys(v)
    elif isinstance(doc, list):
        for v in doc:
            out |= _keys(v)
    return out


def _login(suite, email, password, **extra):
    return requests.post(suite.url + "/auth/login", json={"email": email, "password": password, **extra}, timeout=15)


def _bearer(token):
    return {"Authorization": "Bearer " + token}


def test_lockout_after_five_failures_blocks_even_the_right_password(suite, admin):
    person = suite.make_person(admin, password="right-pass-1")
    for _ in range(5):
        r = _login(suite, person["email"], "wrong-pass")
        assert r.status_code == 400
        assert r.json()["message"] == "Wrong email or password."
    r = _login(suite, person["email"], "right-pass-1")
    assert r.status_code == 400
    body = r.json()
    assert body["too_many_failed_login_attemps"] is True
    assert body["login"] is False
    assert body["message"] == "Too many failed login attempts, retry in a minute."


def test_unknown_and_known_email_get_the_same_answer(suite, admin):
    person = suite.make_person(admin)
    known = _login(suite, person["email"], "not-the-password")
    unknown = _login(suite, "nobody-" + os.urandom(4).hex() + "@example.com", "not-the-password")
    assert known.status_code == unknown.status_code == 400
    assert known.json() == unknown.json()
    assert known.json()["message"] == "Wrong email or password." and known.json()["login"] is False
    # the same for a password reset request
    a = requests.post(suite.url + "/auth/reset-password", json={"email": person["email"]}, timeout=15)
    b = requests.post(suite.url + "/auth/reset-password", json={"email": "nobody@example.com"}, timeout=15)
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json() == {"success": "Reset token sent"}


def test_login_validation_and_case_insensitive_email(suite, admin):
    r = requests.post(suite.url + "/auth/login", json={}, timeout=15)
    assert r.status_code == 400
    assert r.json()["data"]["errors"] == [{"field": "email", "message": "Field required"}]
    person = suite.make_person(admin, password="case-pass-1")
    assert _login(suite, person["email"].upper(), "case-pass-1").status_code == 200
    # password omitted means "default": wrong for this person
    r = requests.post(suite.url + "/auth/login", json={"email": person["email"]}, timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "Wrong email or password."


def test_artist_cannot_raise_own_role_but_edits_own_name(suite, admin):
    person = suite.make_person(admin, password="artist-pass-1")
    artist = suite.login(person["email"], "artist-pass-1")
    r = artist.put(suite.url + f"/data/persons/{person['id']}",
                   json={"role": "admin", "active": False, "first_name": "Arty"}, timeout=15)
    assert r.status_code == 200, r.text
    stored = admin.get(suite.url + f"/data/persons/{person['id']}", timeout=15).json()
    assert stored["role"] == "user"
    assert stored["active"] is True
    assert stored["first_name"] == "Arty"
    other = suite.make_person(admin)
    r = artist.put(suite.url + f"/data/persons/{other['id']}", json={"first_name": "X"}, timeout=15)
    assert r.status_code == 403


def test_persons_list_for_an_artist_is_minimal_without_email(suite, admin):
    person = suite.make_person(admin, password="artist-pass-2")
    artist = suite.login(person["email"], "artist-pass-2")
    rows = artist.get(suite.url + "/data/persons", timeout=15).json()
    assert rows and all("email" not in p for p in rows)
    assert all(set(p) == {"id", "type", "first_name", "last_name", "full_name", "has_avatar", "active",
                          "departments", "studio_id", "role", "desktop_login", "is_bot"} for p in rows)
    r = artist.get(suite.url + "/data/persons", params={"phone": "1"}, timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "Filtering on phone is not allowed."
    admin_rows = admin.get(suite.url + "/data/persons", timeout=15).json()
    assert all("departments" not in p for p in admin_rows)
    assert all("departments" in p for p in admin.get(suite.url + "/data/persons?relations=true", timeout=15).json())


def test_person_creation_lowercases_email_and_requires_names(suite, admin):
    n = os.urandom(3).hex()
    r = admin.post(suite.url + "/data/persons", json={"email": f"Mixed{n}@Example.COM", "first_name": "M",
                                                       "last_name": "C"}, timeout=15)
    assert r.status_code == 201, r.text
    assert r.json()["email"] == f"mixed{n}@example.com"
    r = admin.post(suite.url + "/data/persons", json={"email": f"MIXED{n}@example.com", "first_name": "M",
                                                       "last_name": "C"}, timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "Email already in use."
    r = admin.post(suite.url + "/data/persons", json={"email": f"x{n}@example.com", "first_name": "M"}, timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "A required field is missing."
    r = admin.post(suite.url + "/data/persons", json={"email": "not-an-email", "first_name": "M", "last_name": "C"},
                   timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "An email address must have an @-sign."
    found = admin.get(suite.url + "/data/persons", params={"email": f"MIXED{n}@example.com", "is_bot": "False"},
                      timeout=15).json()
    assert [p["email"] for p in found] == [f"mixed{n}@example.com"]


def test_deleting_a_person_who_logged_in_needs_force(suite, admin):
    person = suite.make_person(admin, password="delete-pass-1")
    suite.login(person["email"], "delete-pass-1")
    r = admin.delete(suite.url + f"/data/persons/{person['id']}", timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "Some data are still linked to given person."
    r = admin.delete(suite.url + f"/data/persons/{person['id']}?force=true", timeout=15)
    assert r.status_code == 204
    assert admin.get(suite.url + f"/data/persons/{person['id']}", timeout=15).status_code == 404


def test_totp_enable_then_login_needs_the_code_and_recovery_code_is_single_use(suite, admin):
    person = suite.make_person(admin, password="totp-pass-1")
    me = suite.login(person["email"], "totp-pass-1")
    pre = me.put(suite.url + "/auth/totp", json={}, timeout=15)
    assert pre.status_code == 200, pre.text
    secret = pre.json()["otp_secret"]
    assert pre.json()["totp_provisionning_uri"].startswith("otpauth://totp/")
    wrong = me.post(suite.url + "/auth/totp", json={"totp": "000000"}, timeout=15)
    assert wrong.status_code == 400 and wrong.json()["wrong_OTP"] is True
    enabled = me.post(suite.url + "/auth/totp", json={"totp": pyotp.TOTP(secret).now()}, timeout=15)
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["otp_recovery_codes"]
    assert len(codes) == 16 and enabled.json()["access_token"]

    missing = _login(suite, person["email"], "totp-pass-1")
    assert missing.status_code == 400
    assert missing.json()["missing_OTP"] is True
    assert missing.json()["preferred_two_factor_authentication"] == "totp"
    assert missing.json()["two_factor_authentication_enabled"] == ["recovery_code", "totp"]
    bad = _login(suite, person["email"], "totp-pass-1", totp="000000")
    assert bad.status_code == 400 and bad.json()["wrong_OTP"] is True
    good = _login(suite, person["email"], "totp-pass-1", totp=pyotp.TOTP(secret).now())
    assert good.status_code == 200 and good.json()["login"] is True
    assert good.json()["user"]["totp_enabled"] is True

    first = _login(suite, person["email"], "totp-pass-1", recovery_code=codes[0])
    assert first.status_code == 200, first.text
    again = _login(suite, person["email"], "totp-pass-1", recovery_code=codes[0])
    assert again.status_code == 400 and again.json()["wrong_OTP"] is True

    off = requests.delete(suite.url + "/auth/totp", json={"totp": pyotp.TOTP(secret).now()},
                          headers=_bearer(good.json()["access_token"]), timeout=15)
    assert off.status_code == 200 and off.json() == {"success": True}
    assert _login(suite, person["email"], "totp-pass-1").status_code == 200


def test_admin_disables_someone_elses_second_factor(suite, admin):
    person = suite.make_person(admin, password="twofa-pass-1")
    me = suite.login(person["email"], "twofa-pass-1")
    secret = me.put(suite.url + "/auth/totp", json={}, timeout=15).json()["otp_secret"]
    assert me.post(suite.url + "/auth/totp", json={"totp": pyotp.TOTP(secret).now()}, timeout=15).status_code == 200
    r = me.delete(suite.url + f"/actions/persons/{person['id']}/disable-two-factor-authentication", timeout=15)
    assert r.status_code == 403
    r = admin.delete(suite.url + f"/actions/persons/{person['id']}/disable-two-factor-authentication", timeout=15)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert _login(suite, person["email"], "twofa-pass-1").status_code == 200
    r = me.put(suite.url + "/auth/recovery-codes", json={}, timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "No two factor authentication enabled."


def test_logout_revokes_access_and_refresh_tokens(suite, admin):
    person = suite.make_person(admin, password="logout-pass-1")
    body = _login(suite, person["email"], "logout-pass-1").json()
    access, refresh = body["access_token"], body["refresh_token"]
    assert requests.get(suite.url + "/auth/logout", headers=_bearer(access), timeout=15).status_code == 200
    assert requests.get(suite.url + "/auth/authenticated", headers=_bearer(access), timeout=15).status_code == 401
    assert requests.get(suite.url + "/auth/refresh-token", headers=_bearer(refresh), timeout=15).status_code == 401


def test_deactivation_revokes_live_tokens_even_after_reactivation(suite, admin):
    person = suite.make_person(admin, password="deact-pass-1")
    access = _login(suite, person["email"], "deact-pass-1").json()["access_token"]
    url = suite.url + f"/data/persons/{person['id']}"
    assert admin.put(url, json={"active": False}, timeout=15).status_code == 200
    assert admin.put(url, json={"active": True}, timeout=15).status_code == 200
    assert requests.get(suite.url + "/auth/authenticated", headers=_bearer(access), timeout=15).status_code == 401


def test_no_response_carries_a_secret(suite, admin):
    person = suite.make_person(admin, password="secret-pass-9")
    me = suite.login(person["email"], "secret-pass-9")
    secret = me.put(suite.url + "/auth/totp", json={}, timeout=15).json()["otp_secret"]
    enabled = me.post(suite.url + "/auth/totp", json={"totp": pyotp.TOTP(secret).now()}, timeout=15)
    seen = [
        enabled.json(),
        _login(suite, person["email"], "secret-pass-9", totp=pyotp.TOTP(secret).now()).json(),
        me.get(suite.url + "/auth/authenticated", timeout=15).json(),
        admin.get(suite.url + "/data/persons", timeout=15).json(),
        admin.get(suite.url + "/data/persons?relations=true", timeout=15).json(),
        admin.get(suite.url + f"/data/persons/{person['id']}", timeout=15).json(),
        me.get(suite.url + "/data/persons", timeout=15).json(),
        me.put(suite.url + f"/data/persons/{person['id']}", json={"phone": "1"}, timeout=15).json(),
    ]
    for doc in seen:
        leaked = _keys(doc) & (SECRET_KEYS | {"totp_secret", "email_otp_secret", "fido_credentials", "jti"})
        assert not leaked, leaked
        # recovery codes appear only in the enabling answer, never as stored hashes
        assert "$2b$" not in json.dumps(doc)


def test_bot_gets_a_long_lived_token_that_works_and_is_replaced(suite, admin):
    n = os.urandom(3).hex()
    r = admin.post(suite.url + "/data/persons", json={"email": f"bot{n}@example.com", "first_name": "Bot",
                                                       "last_name": n, "is_bot": True, "role": "manager"}, timeout=15)
    assert r.status_code == 201, r.text
    token = r.json()["access_token"]
    assert requests.get(suite.url + "/data/persons", headers=_bearer(token), timeout=15).status_code == 200
    r = admin.put(suite.url + f"/data/persons/{r.json()['id']}", json={"expiration_date": "2099-01-01"}, timeout=15)
    assert r.status_code == 200 and r.json()["access_token"] != token
    assert requests.get(suite.url + "/data/persons", headers=_bearer(token), timeout=15).status_code == 401
    new = r.json()["access_token"]
    assert requests.get(suite.url + "/data/persons", headers=_bearer(new), timeout=15).status_code == 200


def test_password_reset_link_then_reset_then_login(suite, admin):
    person = suite.make_person(admin, password="old-pass-123")
    r = admin.post(suite.url + f"/actions/persons/{person['id']}/reset-password-link", json={}, timeout=15)
    assert r.status_code == 200, r.text
    link = r.json()["reset_password_link"]
    assert "/reset-change-password?" in link
    from urllib.parse import parse_qs, urlsplit

    token = parse_qs(urlsplit(link).query)["token"][0]
    bad = requests.put(suite.url + "/auth/reset-password", json={"email": person["email"], "token": "nope",
                                                                  "password": "new-pass-123", "password2": "new-pass-123"})
    assert bad.status_code == 400 and bad.json()["message"] == "Wrong or expired token."
    ok = requests.put(suite.url + "/auth/reset-password", json={"email": person["email"], "token": token,
                                                                 "password": "new-pass-123", "password2": "new-pass-123"})
    assert ok.status_code == 200 and ok.json() == {"success": True}
    again = requests.put(suite.url + "/auth/reset-password", json={"email": person["email"], "token": token,
                                                                    "password": "new-pass-456", "password2": "new-pass-456"})
    assert again.status_code == 400
    assert _login(suite, person["email"], "new-pass-123").status_code == 200


def test_app_login_code_is_single_use_and_bound_to_its_verifier(suite, admin):
    import base64
    import hashlib

    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    r = admin.post(suite.url + "/auth/app-login/code", json={"code_challenge": challenge}, timeout=15)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    wrong = requests.post(suite.url + "/auth/app-login/token", json={"code": code, "code_verifier": "x" * 43})
    assert wrong.status_code == 400 and wrong.json()["message"] == "Wrong or expired code."
    code = admin.post(suite.url + "/auth/app-login/code", json={"code_challenge": challenge}, timeout=15).json()["code"]
    ok = requests.post(suite.url + "/auth/app-login/token", json={"code": code, "code_verifier": verifier})
    assert ok.status_code == 200 and ok.json()["login"] is True and ok.json()["access_token"]
    reused = requests.post(suite.url + "/auth/app-login/token", json={"code": code, "code_verifier": verifier})
    assert reused.status_code == 400


def test_department_add_is_idempotent_and_emits_person_updates(suite, admin):
    dep = admin.post(suite.url + "/data/departments", json={"name": "Dep " + os.urandom(3).hex(), "color": "#00FF00"},
                     timeout=15).json()
    person = suite.make_person(admin)
    url = suite.url + f"/actions/persons/{person['id']}/departments/add"
    for _ in range(2):
        r = admin.post(url, json={"department_id": dep["id"]}, timeout=15)
        assert r.status_code == 201 and r.json()["departments"] == [dep["id"]]
    r = admin.post(url, json={"department_id": "00000000-0000-0000-0000-000000000000"}, timeout=15)
    assert r.status_code == 400 and r.json()["message"] == "Department ID matches no department"
    r = admin.delete(suite.url + f"/actions/persons/{person['id']}/departments/{dep['id']}", timeout=15)
    assert r.status_code == 204


def test_day_off_calendar_routes(suite, admin):
    person = suite.make_person(admin, password="dayoff-pass-1")
    me = suite.login(person["email"], "dayoff-pass-1")
    r = me.post(suite.url + "/data/day-offs", json={"person_id": person["id"], "date": "2031-03-10",
                                                    "end_date": "2031-03-12", "description": "ski"}, timeout=15)
    assert r.status_code == 201, r.text
    clash = me.post(suite.url + "/data/day-offs", json={"person_id": person["id"], "date": "2031-03-11",
                                                        "end_date": "2031-03-11"}, timeout=15)
    assert clash.status_code == 400 and clash.json()["message"] == "Day off already exists for this period"
    assert me.get(suite.url + "/data/user/day-offs/2031-03-11", timeout=15).json()["description"] == "ski"
    assert me.get(suite.url + "/data/user/day-offs/2031-04-11", timeout=15).json() == {}
    month = me.get(suite.url + f"/data/persons/{person['id']}/day-offs/month/2031/3", timeout=15).json()
    assert [d["date"] for d in month] == ["2031-03-10"]
    assert me.get(suite.url + f"/data/persons/{person['id']}/day-offs/week/2031/11", timeout=15).json()
    assert admin.get(suite.url + "/data/persons/day-offs/2031/3", timeout=15).json()[0]["person_id"] == person["id"]
    other = suite.make_person(admin, password="dayoff-pass-2")
    stranger = suite.login(other["email"], "dayoff-pass-2")
    assert stranger.get(suite.url + f"/data/persons/{person['id']}/day-offs", timeout=15).status_code == 403
    assert stranger.get(suite.url + "/data/persons/day-offs/2031", timeout=15).json() == []


def test_presence_sheet_and_login_logs(suite, admin):
    person = suite.make_person(admin, password="presence-pass-1")
    me = suite.login(person["email"], "presence-pass-1")
    assert me.post(suite.url + "/data/user/desktop-login-logs", json={"date": "2030-05-06T10:00:00"},
                   timeout=15).status_code == 201
    r = admin.get(suite.url + "/data/persons/presence-logs/2030-05", timeout=15)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv"
    lines = r.text.splitlines()
    assert lines[0].startswith("2030;1;2;")  # Zou's CSV uses semicolons
    row = next(line for line in lines if line.startswith(person["first_name"]))
    assert row.split(";")[6] == "X"
    assert admin.get(suite.url + "/data/persons/presence-logs/nope", timeout=15).status_code == 400
    logs = admin.get(suite.url + "/data/events/login-logs/last", params={"limit": 5}, timeout=15).json()
    assert set(logs[0]) == {"id", "created_at", "ip_address", "person_id", "origin"}
    assert me.get(suite.url + "/data/events/login-logs/last", timeout=15).status_code == 403


def test_day_offs_of_a_production_team_as_zou_scopes_them(suite, admin):
    """Manager of the production: whole; supervisor sharing a department: dates
    only; a team member without those roles, or an outsider: refused."""
    dep = admin.post(suite.url + "/data/departments", json={"name": "Lay " + os.urandom(3).hex(), "color": "#0000FF"},
                     timeout=15).json()
    artist = suite.make_person(admin, password="team-pass-1", departments=[dep["id"]])
    manager = suite.make_person(admin, role="manager", password="team-pass-2")
    supervisor = suite.make_person(admin, role="supervisor", password="team-pass-3", departments=[dep["id"]])
    peer = suite.make_person(admin, password="team-pass-4")
    project = admin.post(suite.url + "/data/projects", json={"name": "DayOffs " + os.urandom(3).hex()}, timeout=15)
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    for p in (artist, manager, supervisor, peer):
        r = admin.post(suite.url + f"/data/projects/{pid}/team", json={"person_id": p["id"]}, timeout=15)
        assert r.status_code == 201, r.text
    r = admin.post(suite.url + "/data/day-offs", json={"person_id": artist["id"], "date": "2032-02-02",
                                                       "end_date": "2032-02-03", "description": "dentist"}, timeout=15)
    assert r.status_code == 201, r.text
    url = suite.url + f"/data/persons/{artist['id']}/day-offs"
    as_manager = suite.login(manager["email"], "team-pass-2").get(url, timeout=15)
    assert as_manager.status_code == 200 and as_manager.json()[0]["description"] == "dentist"
    as_supervisor = suite.login(supervisor["email"], "team-pass-3").get(url, timeout=15)
    assert as_supervisor.status_code == 200 and "description" not in as_supervisor.json()[0]
    assert suite.login(peer["email"], "team-pass-4").get(url, timeout=15).status_code == 403
    by_project = admin.get(suite.url + f"/data/projects/{pid}/day-offs", timeout=15).json()
    assert [d["date"] for d in by_project[artist["id"]]] == ["2032-02-02"]


def test_a_client_sees_only_the_people_of_its_productions(suite, admin):
    client = suite.make_person(admin, role="client", password="client-pass-1")
    member = suite.make_person(admin)
    outsider = suite.make_person(admin)
    pid = admin.post(suite.url + "/data/projects", json={"name": "Client " + os.urandom(3).hex()}, timeout=15).json()["id"]
    for p in (client, member):
        assert admin.post(suite.url + f"/data/projects/{pid}/team", json={"person_id": p["id"]},
                          timeout=15).status_code == 201
    me = suite.login(client["email"], "client-pass-1")
    rows = me.get(suite.url + "/data/persons", timeout=15).json()
    assert {p["id"] for p in rows} == {client["id"], member["id"]}
    assert all(set(p) == {"id", "type", "first_name", "last_name", "full_name", "has_avatar", "active", "role",
                          "is_bot"} for p in rows)
    assert me.get(suite.url + f"/data/persons/{outsider['id']}", timeout=15).status_code == 403
