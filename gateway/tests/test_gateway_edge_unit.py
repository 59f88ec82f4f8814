"""The gateway's edge behaviour in-process (werkzeug test client, no broker):
error bodies, CORS, security headers, browser detection, CSRF, 500s."""

from __future__ import annotations

import pytest
from slate_gateway import app as gw_app
from slate_gateway import tokens
from slate_gateway.routes import PUBLIC, Route
from werkzeug.test import Client

FOREIGN = "https://evil.example"
KITSU = "https://kitsu.studio.example"


@pytest.fixture(scope="module")
def gateway():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECRET_KEY", "unit-test-secret-key-0123456789abcdef")
        mp.setenv("CORS_ORIGINS", KITSU)
        gw = gw_app.Gateway()

        def boom(gw, route, request, args, claims, context):
            raise RuntimeError("password=hunter2 at db.internal:5432")

        mp.setattr(gw_app.handlers, "boom", boom, raising=False)
        gw.routes.append(Route("GET", "/boom", "gateway", "boom", PUBLIC, handler="boom"))
        gw.url_map = gw_app.build_map(gw.routes)
        yield gw


@pytest.fixture
def client(gateway):
    return Client(gateway)


def test_unknown_route_is_zous_404(client):
    r = client.get("/nope/route")
    assert r.status_code == 404
    assert r.json == {"error": True, "message": gw_app.NOT_FOUND_MESSAGE}


def test_wrong_method_is_zous_405_without_allow_header(client):
    r = client.delete("/config")
    assert r.status_code == 405
    assert r.json == {"error": True, "message": "The method is not allowed for the requested URL."}
    assert "Allow" not in r.headers


def test_unexpected_error_is_a_500_that_shows_no_internals(client):
    r = client.get("/boom")
    assert r.status_code == 500
    assert r.json == {"error": True, "message": "Internal server error."}
    assert "hunter2" not in r.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/config", "/nope", "/boom", "/data/persons"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path)
    for name, value in gw_app.SECURITY_HEADERS.items():
        assert r.headers[name] == value
    assert r.headers["X-Request-Id"]


def test_cors_echoes_only_configured_origins_never_a_wildcard(client):
    ok = client.get("/config", headers={"Origin": KITSU})
    assert ok.headers["Access-Control-Allow-Origin"] == KITSU
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in ok.headers["Vary"]
    foreign = client.get("/config", headers={"Origin": FOREIGN})
    assert "Access-Control-Allow-Origin" not in foreign.headers
    pre = client.options("/auth/login", headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    assert pre.status_code == 200 and pre.headers["Allow"] == "OPTIONS, POST"


def test_preflight_from_a_configured_origin(client):
    r = client.options("/api/data/persons", headers={"Origin": KITSU, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == KITSU
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


def test_missing_token_is_zous_401_msg(client):
    r = client.get("/data/persons")
    assert r.status_code == 401
    assert r.json == {
        "msg": 'Missing JWT in cookies or headers (Missing cookie "access_token_cookie"; Missing Authorization Header)'
    }


@pytest.mark.parametrize(
    "header, status, msg",
    [
        ("Bearer garbage", 422, "Not enough segments"),
        ("Bearer ", 422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"),
        ("Bearer a b", 422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"),
        ("Token abc", 401, None),
    ],
)
def test_malformed_tokens_answer_like_zou(client, header, status, msg):
    r = client.get("/data/persons", headers={"Authorization": header})
    assert r.status_code == status
    assert set(r.json) == {"msg"}
    if msg:
        assert r.json["msg"] == msg


def test_token_signed_with_another_key_is_422(client):
    import time

    import jwt

    bad = jwt.encode({"sub": "x", "jti": "j", "type": "access", "exp": time.time() + 60}, "another-key-0123456789abcdef0123456789",
                     algorithm="HS256")
    r = client.get("/data/persons", headers={"Authorization": f"Bearer {bad}"})
    assert (r.status_code, r.json) == (422, {"msg": "Signature verification failed"})


def test_expired_token_is_the_exact_body_gazu_refreshes_on(client):
    import time

    import jwt

    old = jwt.encode({"sub": "x", "jti": "j", "type": "access", "exp": time.time() - 5},
                     "unit-test-secret-key-0123456789abcdef", algorithm="HS256")
    r = client.get("/data/persons", headers={"Authorization": f"Bearer {old}"})
    assert (r.status_code, r.json) == (401, {"error": True, "message": "Signature has expired"})


def test_token_of_the_wrong_type_is_422(client):
    import time

    import jwt

    refresh = jwt.encode({"sub": "x", "jti": "j", "type": "refresh", "exp": time.time() + 60},
                         "unit-test-secret-key-0123456789abcdef", algorithm="HS256")
    r = client.get("/data/persons", headers={"Authorization": f"Bearer {refresh}"})
    assert (r.status_code, r.json) == (422, {"msg": "Only non-refresh tokens are allowed"})


@pytest.mark.parametrize(
    "ua, browser",
    [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", True),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", True),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", True),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", True),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", False),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) kitsu-publisher/0.3.0 Chrome/120.0.0.0 Electron/28.0.0 Safari/537.36", False),
        ("Mozilla/5.0", False),
        ("curl/8.5.0", False),
        ("python-requests/2.31.0", False),
        ("", False),
    ],
)
def test_browser_detection_follows_zou(ua, browser):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    request = Request(EnvironBuilder(headers={"User-Agent": ua}).get_environ())
    assert gw_app.is_browser(request) is browser


def _csrf(gateway, origin=None, referer=None, host="api.studio.example"):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    headers = {"Host": host}
    if origin:
        headers["Origin"] = origin
    if referer:
        headers["Referer"] = referer
    gateway.csrf_check(Request(EnvironBuilder(method="POST", headers=headers).get_environ()))


def test_cookie_writes_from_a_foreign_origin_are_refused(gateway):
    from slatekit.errors import Forbidden

    for origin, referer in [(FOREIGN, None), ("null", None), (None, FOREIGN + "/page"),
                            ("http://api.studio.example.evil.example", None)]:
        with pytest.raises(Forbidden):
            _csrf(gateway, origin, referer)


def test_cookie_writes_from_kitsu_pass(gateway):
    _csrf(gateway, "https://api.studio.example")  # same host: Kitsu and the API behind one nginx
    _csrf(gateway, None, "https://api.studio.example/productions")
    _csrf(gateway, KITSU)  # a configured CORS origin
    _csrf(gateway)  # no Origin, no Referer: not a browser page


def test_double_slashes_and_api_prefix_reach_the_same_route(client):
    for path in ("/config", "/api/config", "//config", "/api//config", "//api//config/"):
        assert client.get(path).status_code == 200, path


def test_a_declared_body_bigger_than_the_limit_is_refused_before_reading(gateway):
    r = Client(gateway).post("/auth/login", data=b"x" * (gateway.max_body + 1), content_type="application/json")
    assert r.status_code == 413
    assert r.json["error"] is True


def test_revoked_and_expired_bodies_are_distinct():
    assert tokens.REVOKED == "Token has been revoked"
    assert tokens.EXPIRED == "Signature has expired"


def test_rpc_latency_and_failures_are_counted_for_every_caller():
    from slate_gateway import metrics
    from slatekit.rpc_client import RpcTimeout, ServiceUnavailable

    class Pool:
        def call(self, service, method, kwargs=None, context=None, timeout=None):
            raise {"slow": RpcTimeout("late"), "gone": ServiceUnavailable("down")}[service]

    def value(name, **labels):
        from prometheus_client import REGISTRY

        return REGISTRY.get_sample_value(name, labels) or 0

    rpc = metrics.MeteredRpc(Pool())
    before = (value("slate_gateway_rpc_failures_total", service="slow", reason="timeout"),
              value("slate_gateway_rpc_failures_total", service="gone", reason="unavailable"))
    for service, exc in (("slow", RpcTimeout), ("gone", ServiceUnavailable)):
        with pytest.raises(exc):
            rpc.call(service, "x", {})
    assert value("slate_gateway_rpc_failures_total", service="slow", reason="timeout") == before[0] + 1
    assert value("slate_gateway_rpc_failures_total", service="gone", reason="unavailable") == before[1] + 1
    assert value("slate_gateway_rpc_seconds_count", service="slow") >= 1


@pytest.mark.parametrize("peer, header, expected", [
    ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # the local nginx says who the client is
    ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # a client naming itself: ignored
    ("198.51.100.9", None, "198.51.100.9"),
])
def test_forwarded_address_is_believed_only_from_a_trusted_proxy(peer, header, expected):
    from slate_gateway.handlers import client_ip
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    headers = {"X-Real-Ip": header} if header else {}
    env = EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": peer}).get_environ()
    assert client_ip(Request(env)) == expected


def test_a_wildcard_in_cors_origins_is_never_honoured():
    assert gw_app.cors_origins("*, https://kitsu.example/, https://*.example") == {"https://kitsu.example"}
