"""The gateway's edge against Zou's measured behaviour (docs/zou-notes/auth.md),
over HTTP on the running suite: index, status, config, prefixes and doubled
slashes, token error bodies (and gazu's refresh on the expired one), cookies,
CSRF, body limits, OpenAPI, metrics and /data/user/context."""

from __future__ import annotations

import datetime as dt
import select
import socket
import time
from urllib.parse import urlparse

import gazu
import jwt
import pytest
import requests

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36"
ELECTRON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) kitsu-publisher/0.3.0 Chrome/120.0.0.0 Electron/28.0.0 Safari/537.36"

# Measured on Zou 1.0.97 (keys, in order).
ZOU_STATUS_KEYS = ["name", "version", "database-up", "key-value-store-up", "event-stream-up", "job-queue-up", "indexer-up"]
ZOU_CONFIG_KEYS = [
    "is_self_hosted", "crisp_token", "dark_theme_by_default", "indexer_configured", "saml_enabled", "saml_idp_name",
    "oidc_enabled", "oidc_idp_name", "default_locale", "default_timezone", "enforce_2fa", "movie_highdef_bitrate",
    "movie_lowdef_bitrate", "preview_accounts_enabled",
]
ZOU_CONTEXT_KEYS = [
    "asset_types", "custom_actions", "status_automations", "departments", "studios", "notification_count", "persons",
    "project_status", "project_roles", "projects", "task_types", "task_status", "search_filters",
    "search_filter_groups", "preview_background_files", "plugins", "user_limit",
]


def test_index_is_zous(suite):
    r = requests.get(suite.url + "/")
    assert r.status_code == 200
    assert r.json() == {"api": "Zou", "version": "1.0.97"}
    assert r.headers["Content-Type"] == "application/json"


def test_status_has_zous_fields_in_zous_order(suite):
    doc = requests.get(suite.url + "/api/status").json()
    assert list(doc) == ZOU_STATUS_KEYS
    assert doc["name"] == "Zou" and doc["version"] == "1.0.97"
    assert doc["database-up"] is True and doc["key-value-store-up"] is True
    assert doc["indexer-up"] is False


def test_status_influx_is_flags_and_time(suite):
    doc = requests.get(suite.url + "/status/influx").json()
    assert list(doc) == ZOU_STATUS_KEYS[2:] + ["time"]
    assert doc["database-up"] == 1 and doc["indexer-up"] == 0
    assert abs(doc["time"] - time.time()) < 60


def test_stats_has_zous_counters(suite, admin):
    doc = admin.get(suite.url + "/api/stats").json()
    assert list(doc) == ["number_of_video_previews", "number_of_picture_previews", "number_of_model_previews",
                         "number_of_comments"]
    assert all(isinstance(v, int) and v >= 0 for v in doc.values())


def test_status_txt_is_zous_plain_text(suite):
    r = requests.get(suite.url + "/status.txt")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text"
    lines = r.text.splitlines()
    assert lines[:2] == ["name: Zou", "version: 1.0.97"]
    assert [line.split(":")[0] for line in lines[2:]] == [
        "database-up", "event-stream-up", "key-value-store-up", "job-queue-up", "indexer-up"]
    assert "database-up: up" in lines


def test_config_has_zous_fields_and_defaults(suite):
    doc = requests.get(suite.url + "/config").json()
    assert list(doc) == ZOU_CONFIG_KEYS
    assert doc["default_locale"] == "en_US" and doc["default_timezone"] == "Europe/Paris"
    assert doc["movie_highdef_bitrate"] == 28 and doc["movie_lowdef_bitrate"] == 6


@pytest.mark.parametrize("path", ["/data/persons", "/api/data/persons", "//data/persons", "/api//data//persons",
                                  "/data/persons/"])
def test_every_prefix_and_doubled_slash_reaches_the_route(suite, admin, path):
    r = admin.get(suite.url + path)
    assert r.status_code == 200, r.text
    assert any(p["email"] == ADMIN_EMAIL for p in r.json())


def test_unknown_route_and_wrong_method_bodies(suite):
    r = requests.get(suite.url + "/api/nope/route")
    assert r.status_code == 404
    assert r.json()["error"] is True and r.json()["message"].startswith("404 Not Found: The requested URL")
    r = requests.put(suite.url + "/auth/login", json={})
    assert r.status_code == 405
    assert r.json() == {"error": True, "message": "The method is not allowed for the requested URL."}


def test_malformed_json_is_a_400(suite, admin):
    r = admin.post(suite.url + "/data/departments", data=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": True,
                        "message": "The browser (or proxy) sent a request that this server could not understand."}


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _forge(suite, claims: dict, **changes) -> str:
    claims = dict(claims, **changes)
    return jwt.encode(claims, suite.env["SECRET_KEY"], algorithm="HS256")


def test_token_error_bodies_are_zous(suite):
    login = requests.post(suite.url + "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    url = suite.url + "/api/data/persons"

    def get(token=None, header=None):
        headers = {"Authorization": header or f"Bearer {token}"} if (token or header) else {}
        return requests.get(url, headers=headers)

    r = get()
    assert r.status_code == 401 and "Missing Authorization Header" in r.json()["msg"] and set(r.json()) == {"msg"}
    r = get("garbage")
    assert (r.status_code, r.json()) == (422, {"msg": "Not enough segments"})
    r = get(login["access_token"][:-4] + "AAAA")
    assert (r.status_code, r.json()) == (422, {"msg": "Signature verification failed"})
    r = get(login["refresh_token"])
    assert (r.status_code, r.json()) == (422, {"msg": "Only non-refresh tokens are allowed"})
    r = requests.get(suite.url + "/auth/refresh-token", headers={"Authorization": "Bearer " + login["access_token"]})
    assert (r.status_code, r.json()) == (422, {"msg": "Only refresh tokens are allowed"})
    expired = _forge(suite, _claims(login["access_token"]), exp=int(time.time()) - 10)
    r = get(expired)
    assert (r.status_code, r.json()) == (401, {"error": True, "message": "Signature has expired"})
    assert get(login["access_token"]).status_code == 200
    assert requests.get(suite.url + "/auth/logout", headers={"Authorization": "Bearer " + login["access_token"]}).ok
    r = get(login["access_token"])
    assert (r.status_code, r.json()) == (401, {"msg": "Token has been revoked"})
    r = requests.get(suite.url + "/auth/refresh-token", headers={"Authorization": "Bearer " + login["refresh_token"]})
    assert (r.status_code, r.json()) == (401, {"msg": "Token has been revoked"})


def test_token_of_an_unknown_person_is_401(suite):
    login = requests.post(suite.url + "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    ghost = _forge(suite, _claims(login["access_token"]), sub="00000000-0000-0000-0000-000000000000")
    r = requests.get(suite.url + "/data/persons", headers={"Authorization": "Bearer " + ghost})
    assert r.status_code == 401 and r.json()["error"] is True


def test_gazu_refreshes_an_expired_access_token(suite):
    client = gazu.client.create_client(suite.url + "/api", use_refresh_token=True)
    gazu.log_in(ADMIN_EMAIL, ADMIN_PASSWORD, client=client)
    tokens = dict(client.tokens)
    expired = _forge(suite, _claims(tokens["access_token"]), exp=int(time.time()) - 10)
    gazu.client.set_tokens({"access_token": expired, "refresh_token": tokens["refresh_token"]}, client=client)
    assert gazu.client.get_current_user(client=client)["email"] == ADMIN_EMAIL
    assert client.tokens["access_token"] != expired


def _set_cookies(response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def test_browser_login_sets_zous_cookies_scripts_get_none(suite):
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    r = requests.post(suite.url + "/api/auth/login", json=body, headers={"User-Agent": CHROME})
    assert r.status_code == 200 and r.json()["login"] is True
    cookies = _set_cookies(r)
    access = [c for c in cookies if c.startswith("access_token_cookie=")]
    refresh = [c for c in cookies if c.startswith("refresh_token_cookie=")]
    assert len(access) == 1 and "Path=/;" in access[0] + ";"
    assert sorted(c.split("Path=")[1].split(";")[0] for c in refresh) == ["/api/auth/refresh-token", "/auth/refresh-token"]
    for c in access + refresh:
        assert "HttpOnly" in c and "SameSite=Lax" in c
    for ua in (HEADLESS, ELECTRON, "python-requests/2.31", ""):
        r = requests.post(suite.url + "/auth/login", json=body, headers={"User-Agent": ua})
        assert r.status_code == 200 and _set_cookies(r) == [], ua


def test_kitsu_cookie_session_under_api_refreshes_and_logs_out(suite):
    s = requests.Session()
    s.headers["User-Agent"] = CHROME
    origin = suite.url
    assert s.post(suite.url + "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).ok
    assert s.get(suite.url + "/api/auth/authenticated").json()["user"]["email"] == ADMIN_EMAIL
    r = s.get(suite.url + "/api/auth/refresh-token")
    assert (r.status_code, r.json()) == (200, {"refresh": True})
    assert any(c.startswith("access_token_cookie=") for c in _set_cookies(r))
    # same-origin write with the cookie passes the CSRF check
    r = s.post(suite.url + "/api/data/departments", json={"name": f"Dep {time.time_ns()}", "color": "#000000"},
               headers={"Origin": origin})
    assert r.status_code == 201, r.text
    r = s.get(suite.url + "/api/auth/logout")
    assert r.json() == {"logout": True}
    assert any(c.startswith("access_token_cookie=;") for c in _set_cookies(r))


def test_cookie_write_from_a_foreign_origin_is_refused(suite):
    s = requests.Session()
    s.headers["User-Agent"] = CHROME
    assert s.post(suite.url + "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).ok
    name = f"Evil {time.time_ns()}"
    r = s.post(suite.url + "/data/departments", json={"name": name, "color": "#000000"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] is True
    assert name not in {d["name"] for d in s.get(suite.url + "/data/departments").json()}


def test_cors_never_allows_an_unconfigured_origin(suite):
    r = requests.get(suite.url + "/config", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = requests.options(suite.url + "/api/auth/login", headers={"Origin": "https://evil.example"})
    assert r.headers.get("Access-Control-Allow-Origin") not in ("*", "https://evil.example")


def test_security_headers_on_success_and_errors(suite, admin):
    for r in (requests.get(suite.url + "/"), requests.get(suite.url + "/nope"), admin.get(suite.url + "/data/persons")):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert r.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_streamed_body_over_the_limit_is_refused_without_reading_it_all(suite, admin):
    """A chunked upload with no Content-Length: the gateway answers 413 once
    MAX_BODY_BYTES (10 MiB here) is passed, and the client never has to send
    its 1 GiB."""
    host, port = urlparse(suite.url).hostname, urlparse(suite.url).port
    token = admin.headers["Authorization"]
    head = (f"POST /api/data/departments HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"x" * 65536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    limit, sent, answer = 1 << 30, 0, b""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        try:
            while sent < limit:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(frame)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            sock.settimeout(10)
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (TimeoutError, ConnectionResetError):
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * 1024 * 1024  # stopped long before the 1 GiB


def test_openapi_document_is_served_from_the_route_table(suite):
    from slate_gateway import openapi
    from slate_gateway.routes import all_routes

    doc = requests.get(suite.url + "/api/openapi.json").json()
    assert doc == openapi.build(all_routes())  # the very document tests/contract validates
    assert doc["paths"]["/data/persons"]["post"]["x-required-role"] == ["admin"]


def test_user_context_has_zous_keys(suite, admin):
    r = admin.get(suite.url + "/api/data/user/context")
    assert r.status_code == 200
    doc = r.json()
    assert list(doc) == ZOU_CONTEXT_KEYS
    assert any(p["email"] == ADMIN_EMAIL for p in doc["persons"])
    assert isinstance(doc["project_roles"], dict) and isinstance(doc["notification_count"], int)
    assert doc["plugins"] == [] and doc["user_limit"] == 100


def test_user_context_of_an_artist_has_no_user_limit(suite, admin):
    person = suite.make_person(admin, role="user")
    artist = suite.login(person["email"], "secret-pass-1")
    doc = artist.get(suite.url + "/data/user/context").json()
    assert list(doc) == ZOU_CONTEXT_KEYS[:-1]


def test_metrics_count_requests_by_route_template(suite, admin):
    for _ in range(3):
        admin.get(suite.url + "/data/persons")
    text = requests.get(suite.url + "/metrics").text
    line = next(ln for ln in text.splitlines()
                if ln.startswith("slate_gateway_requests_total{") and 'route="/data/persons"' in ln
                and 'status="200"' in ln and 'method="GET"' in ln)
    assert float(line.rsplit(" ", 1)[1]) >= 3
    assert "slate_gateway_request_seconds_bucket" in text
    assert "slate_gateway_rpc_seconds" in text, [ln for ln in text.splitlines() if "rpc" in ln or "persons" in ln]


def test_dates_are_utc_naive_seconds(suite):
    # the suite's tokens are issued now: iat within a minute of the gateway's clock
    login = requests.post(suite.url + "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    iat = dt.datetime.fromtimestamp(_claims(login["access_token"])["iat"], dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - iat).total_seconds()) < 60
