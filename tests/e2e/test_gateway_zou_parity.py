"""Side by side with a real Zou when one runs (http://127.0.0.1:5000, or
ZOU_URL): the edge answers field by field as Zou does. Skipped without Zou."""

from __future__ import annotations

import os

import pytest
import requests

pytestmark = pytest.mark.e2e

ZOU_URL = os.environ.get("ZOU_URL", "http://127.0.0.1:5000")
ZOU_ADMIN = (os.environ.get("ZOU_ADMIN_EMAIL", "admin@example.com"),
             os.environ.get("ZOU_ADMIN_PASSWORD", "reference-admin-pass"))


@pytest.fixture(scope="module")
def zou():
    try:
        r = requests.get(ZOU_URL + "/", timeout=2)
        if r.json().get("api") != "Zou":
            raise ValueError(r.text)
    except (requests.RequestException, ValueError):
        pytest.skip(f"no Zou at {ZOU_URL}")
    return ZOU_URL


def both(zou, suite, method, path, **kw):
    return requests.request(method, zou + path, timeout=10, **kw), requests.request(method, suite.url + path,
                                                                                     timeout=10, **kw)


def test_index_and_config_are_identical(zou, suite):
    for path in ("/", "/config"):
        z, s = both(zou, suite, "GET", path)
        assert (s.status_code, s.json()) == (z.status_code, z.json()), path
        assert list(s.json()) == list(z.json())


def test_status_has_the_same_fields(zou, suite):
    for path in ("/status", "/status/influx"):
        z, s = both(zou, suite, "GET", path)
        assert list(s.json()) == list(z.json()), path
    z, s = both(zou, suite, "GET", "/status.txt")
    assert s.headers["Content-Type"] == z.headers["Content-Type"]
    assert [ln.split(":")[0] for ln in s.text.splitlines()] == [ln.split(":")[0] for ln in z.text.splitlines()]


@pytest.mark.parametrize("method, path, headers", [
    ("GET", "/nope/route", {}),
    ("DELETE", "/", {}),
    ("PUT", "/auth/login", {}),
    ("GET", "/data/persons", {}),
    ("GET", "/data/persons", {"Authorization": "Bearer garbage"}),
    ("GET", "/data/persons", {"Authorization": "Bearer a b"}),
    ("GET", "/data/persons", {"Authorization": "Token abc"}),
    ("GET", "/auth/refresh-token", {}),
])
def test_error_bodies_are_identical(zou, suite, method, path, headers):
    z, s = both(zou, suite, method, path, headers=headers)
    assert (s.status_code, s.json()) == (z.status_code, z.json())


def test_security_headers_are_zous(zou, suite):
    z, s = both(zou, suite, "GET", "/")
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"):
        assert s.headers[name] == z.headers[name]


def test_user_context_has_zous_keys(zou, suite, admin):
    token = requests.post(zou + "/auth/login", json={"email": ZOU_ADMIN[0], "password": ZOU_ADMIN[1]}, timeout=10)
    if token.status_code != 200:
        pytest.skip("cannot log in to Zou")
    headers = {"Authorization": "Bearer " + token.json()["access_token"]}
    z = requests.get(zou + "/data/user/context", headers=headers, timeout=30).json()
    s = admin.get(suite.url + "/data/user/context").json()
    assert list(s) == list(z)
    assert {k: type(v).__name__ for k, v in s.items()} == {k: type(v).__name__ for k, v in z.items()}
    z = requests.get(zou + "/stats", headers=headers, timeout=30).json()
    s = admin.get(suite.url + "/stats").json()
    assert list(s) == list(z)
