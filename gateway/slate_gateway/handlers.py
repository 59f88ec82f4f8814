"""Routes with gateway logic: login cookies, health, config, OpenAPI, and the
fan-out read of ``/data/user/context``."""

from __future__ import annotations

from slatekit import config
from slatekit.rpc_client import RpcTimeout, ServiceUnavailable

from . import openapi, tokens

VERSION = "1.0.97"  # the Zou API version Slate follows


def _app():
    from .app import error_response, is_browser, json_response

    return error_response, is_browser, json_response


def _set_cookies(resp, access=None, refresh=None):
    secure = config.get_bool("COOKIE_SECURE")
    if access:
        resp.set_cookie("access_token_cookie", access, httponly=True, samesite="Lax", secure=secure, path="/",
                        max_age=config.get_int("ACCESS_TOKEN_MINUTES") * 60)
    if refresh:
        resp.set_cookie("refresh_token_cookie", refresh, httponly=True, samesite="Lax", secure=secure, path="/",
                        max_age=config.get_int("REFRESH_TOKEN_MINUTES") * 60)


def _unset_cookies(resp):
    for name in ("access_token_cookie", "refresh_token_cookie"):
        resp.delete_cookie(name, path="/")


def login(gw, route, request, args, claims, context):
    _, is_browser, json_response = _app()
    body = gw.read_body(route, request)
    ip = request.headers.get("X-Real-Ip") or request.remote_addr
    limiter_key = f"slate:login-rate:{ip}"
    per_minute = config.get_int("LOGIN_RATE_PER_MINUTE") or 30
    try:
        r = tokens.redis_client()
        count = r.incr(limiter_key)
        if count == 1:
            r.expire(limiter_key, 60)
    except Exception:  # noqa: BLE001 - the limiter is best effort; lockout still applies
        count = 0
    if count > per_minute:
        from slatekit.errors import RateLimited

        raise RateLimited("Too many login attempts, retry in a minute.", {"login": False})
    browser = is_browser(request)
    result = gw.rpc.call("auth", "login", {"body": body, "ip": ip, "origin": "web" if browser else "script"}, context)
    resp = json_response(result, 200)
    if browser:
        _set_cookies(resp, result.get("access_token"), result.get("refresh_token"))
    return resp


def logout(gw, route, request, args, claims, context):
    _, is_browser, json_response = _app()
    result = gw.rpc.call("auth", "logout", {"claims": {"sid": claims.get("sid"), "sub": claims.get("sub")}}, context)
    tokens.forget(claims.get("sub"))
    resp = json_response(result, 200)
    if is_browser(request):
        _unset_cookies(resp)
    return resp


def refresh(gw, route, request, args, claims, context):
    _, is_browser, json_response = _app()
    result = gw.rpc.call("auth", "refresh", {"claims": {"sid": claims.get("sid"), "sub": claims.get("sub")}}, context)
    if is_browser(request):
        resp = json_response({"refresh": True}, 200)
        _set_cookies(resp, access=result["access_token"])
        return resp
    return json_response(result, 200)


def index(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    return json_response({"api": "Zou", "version": VERSION})


def _health(gw) -> dict:
    import socket

    from kombu import Connection

    checks = {"database-up": False, "key-value-store-up": False, "event-stream-up": False, "job-queue-up": False}
    try:
        checks["key-value-store-up"] = bool(tokens.redis_client().ping())
    except Exception:  # noqa: BLE001
        pass
    try:
        with Connection(config.amqp_uri(), connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        checks["job-queue-up"] = True
    except (Exception, socket.error):  # noqa: BLE001
        pass
    try:
        gw.rpc.call("auth", "ping", {}, {}, timeout=3)
        checks["database-up"] = True
    except Exception:  # noqa: BLE001
        pass
    checks["event-stream-up"] = checks["job-queue-up"]
    return checks


def status(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    doc = {"name": "Zou", "version": VERSION}
    doc.update(_health(gw))
    return json_response(doc)


def status_txt(gw, route, request, args, claims, context):
    from werkzeug.wrappers import Response

    checks = _health(gw)
    lines = [f"name: Zou", f"version: {VERSION}"] + [f"{k}: {'up' if v else 'down'}" for k, v in checks.items()]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


def config_route(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    return json_response(
        {
            "is_self_hosted": True,
            "crisp_token": "",
            "dark_theme_by_default": False,
            "indexer_configured": False,
            "saml_enabled": False,
            "saml_idp_name": "",
            "oidc_enabled": False,
            "oidc_idp_name": "",
            "default_locale": "en_US",
            "default_timezone": "Europe/Paris",
            "sentry": {"dsn": "", "sampleRate": 0},
            "enforce_2fa": False,
        }
    )


def openapi_route(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    return json_response(openapi.build(gw.routes))


def user_context(gw, route, request, args, claims, context):
    """Kitsu's bootstrap, composed from the services that own each part.
    A part whose service is not deployed yet comes back empty."""
    _, _, json_response = _app()

    def part(service, method, default, **kwargs):
        try:
            return gw.rpc.call(service, method, kwargs, context)
        except (ServiceUnavailable, RpcTimeout):
            return default

    doc = {
        "persons": part("auth", "crud_list", [], model="persons", query={}),
        "departments": part("auth", "crud_list", [], model="departments", query={}),
        "studios": part("auth", "crud_list", [], model="studios", query={}),
        "search_filters": part("auth", "user_filters", {}),
        "search_filter_groups": part("auth", "user_filter_groups", {}),
        "projects": part("assets", "user_projects_context", []),
        "asset_types": part("assets", "crud_list", [], model="asset-types", query={}),
        "custom_actions": part("assets", "crud_list", [], model="custom-actions", query={}),
        "status_automations": part("tasks", "crud_list", [], model="status-automations", query={}),
        "task_types": part("tasks", "crud_list", [], model="task-types", query={}),
        "task_status": part("tasks", "crud_list", [], model="task-status", query={}),
        "notification_count": part("notifications", "unread_count", 0),
        "preview_background_files": part("previews", "crud_list", [], model="preview-background-files", query={}),
    }
    return json_response(doc)
