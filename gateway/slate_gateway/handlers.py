"""Routes with gateway logic: login cookies, health, config, OpenAPI, and the
fan-out read of ``/data/user/context``."""

from __future__ import annotations

from slatekit import config
from slatekit.rpc_client import RpcTimeout, ServiceUnavailable

from . import openapi, settings, tokens

VERSION = "1.0.97"  # the Zou API version Slate follows


def _app():
    from .app import error_response, is_browser, json_response

    return error_response, is_browser, json_response


# Zou's cookie layout (flask-jwt-extended): HttpOnly, SameSite=Lax, the access
# cookie on "/", the refresh cookie only on the refresh route. Kitsu calls the
# API under /api, so the refresh cookie is set twice, once per path the
# browser may use; each path gets its own cookie and only the matching one is
# sent. Lifetimes follow the tokens (Zou uses one year whatever the token).
REFRESH_COOKIE_PATHS = ("/auth/refresh-token", "/api/auth/refresh-token")


def _cookie_flags() -> dict:
    return {"httponly": True, "samesite": "Lax", "secure": config.get_bool("COOKIE_SECURE")}


def _set_cookies(resp, access=None, refresh=None):
    if access:
        resp.set_cookie("access_token_cookie", access, path="/", max_age=config.get_int("ACCESS_TOKEN_MINUTES") * 60,
                        **_cookie_flags())
    if refresh:
        for path in REFRESH_COOKIE_PATHS:
            resp.set_cookie("refresh_token_cookie", refresh, path=path,
                            max_age=config.get_int("REFRESH_TOKEN_MINUTES") * 60, **_cookie_flags())


def _unset_refresh_cookie(resp):
    for path in REFRESH_COOKIE_PATHS:
        resp.delete_cookie("refresh_token_cookie", path=path, **_cookie_flags())


def _unset_cookies(resp):
    resp.delete_cookie("access_token_cookie", path="/", **_cookie_flags())
    _unset_refresh_cookie(resp)


def client_ip(request) -> str:
    """The caller's address for rate limits and login logs. ``X-Real-Ip`` (or
    the last ``X-Forwarded-For`` hop) is believed only from a proxy listed in
    ``TRUSTED_PROXIES``: anyone else could name a fresh address per request
    and never hit the per-IP login limit."""
    peer = request.remote_addr or ""
    trusted = {p.strip() for p in settings.get("TRUSTED_PROXIES").split(",") if p.strip()}
    if peer in trusted:
        forwarded = request.headers.get("X-Real-Ip") or request.headers.get("X-Forwarded-For", "").split(",")[-1]
        if forwarded.strip():
            return forwarded.strip()[:45]
    return peer


def login(gw, route, request, args, claims, context):
    _, is_browser, json_response = _app()
    body = gw.read_body(route, request)
    ip = client_ip(request)
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
    """Scripts get ``{"access_token"}``; browsers get ``{"refresh": true}``, a
    new access cookie, and (as Zou) the refresh cookie removed."""
    _, is_browser, json_response = _app()
    result = gw.rpc.call("auth", "refresh", {"claims": {"sid": claims.get("sid"), "sub": claims.get("sub")}}, context)
    if is_browser(request):
        resp = json_response({"refresh": True}, 200)
        _set_cookies(resp, access=result["access_token"])
        _unset_refresh_cookie(resp)
        return resp
    return json_response(result, 200)


def index(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    return json_response({"api": "Zou", "version": VERSION})


def _health(gw) -> dict:
    """Zou's status flags, in Zou's order. The database is "up" when auth
    answers a ping (its ping runs a query); the event stream and job queue
    are the broker (and the stream process for the former); Slate has no
    search indexer."""

    from kombu import Connection

    checks = {"database-up": False, "key-value-store-up": False, "event-stream-up": False,
              "job-queue-up": False, "indexer-up": False}
    try:
        checks["key-value-store-up"] = bool(tokens.redis_client().ping())
    except Exception:  # noqa: BLE001
        pass
    try:
        with Connection(config.amqp_uri(), connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        checks["job-queue-up"] = True
    except Exception:  # noqa: BLE001
        pass
    try:
        gw.rpc.call("auth", "ping", {}, {}, timeout=3)
        checks["database-up"] = True
    except Exception:  # noqa: BLE001
        pass
    checks["event-stream-up"] = checks["job-queue-up"] and _stream_ready()
    return checks


def _stream_ready() -> bool:
    """The socket.io stream process (``STREAM_URL``) answers its readiness probe."""
    import os
    import urllib.request

    url = (os.environ.get("STREAM_URL") or "http://127.0.0.1:8090").rstrip("/") + "/readyz"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own process, from config
            return resp.status == 200
    except Exception:  # noqa: BLE001
        return False


def status(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    doc = {"name": "Zou", "version": VERSION}
    doc.update(_health(gw))
    return json_response(doc)


def status_influx(gw, route, request, args, claims, context):
    """Zou's InfluxDB feed: the same flags as 0/1 and the time."""
    import time

    _, _, json_response = _app()
    doc = {k: int(v) for k, v in _health(gw).items()}
    doc["time"] = time.time()
    return json_response(doc)


def stats(gw, route, request, args, claims, context):
    """Zou's usage figures, from their owners: previews counts its preview
    files by kind (``previews.main_stats``), tasks its comments
    (``tasks.main_stats``). An owner that is down, or does not offer the
    method yet, counts 0."""
    from slatekit.rpc_client import RemoteError

    _, _, json_response = _app()
    doc = {"number_of_video_previews": 0, "number_of_picture_previews": 0, "number_of_model_previews": 0,
           "number_of_comments": 0}
    for service in ("previews", "tasks"):
        try:
            part = gw.rpc.call(service, "main_stats", {}, context) or {}
        except (ServiceUnavailable, RpcTimeout, RemoteError):
            continue
        doc.update({k: int(v) for k, v in part.items() if k in doc})
    return json_response(doc)


STATUS_TXT_ORDER = ("database-up", "event-stream-up", "key-value-store-up", "job-queue-up", "indexer-up")


def status_txt(gw, route, request, args, claims, context):
    """Plain text, in Zou's line order, with Zou's literal ``Content-Type: text``."""
    from werkzeug.wrappers import Response

    checks = _health(gw)
    lines = ["name: Zou", f"version: {VERSION}"] + [f"{k}: {'up' if checks[k] else 'down'}" for k in STATUS_TXT_ORDER]
    resp = Response("\n".join(lines) + "\n")
    resp.headers["Content-Type"] = "text"
    return resp


def config_route(gw, route, request, args, claims, context):
    """What Kitsu reads before login, with Zou's keys in Zou's order."""
    _, _, json_response = _app()
    return json_response(
        {
            "is_self_hosted": settings.get_bool("IS_SELF_HOSTED"),
            "crisp_token": settings.get("CRISP_TOKEN"),
            "dark_theme_by_default": settings.get_bool("DARK_THEME_BY_DEFAULT"),
            "indexer_configured": False,
            "saml_enabled": False,  # SSO is not served yet (zou-compat.md)
            "saml_idp_name": "",
            "oidc_enabled": False,
            "oidc_idp_name": "",
            "default_locale": settings.get("DEFAULT_LOCALE"),
            "default_timezone": settings.get("DEFAULT_TIMEZONE"),
            "enforce_2fa": settings.get_bool("ENFORCE_2FA"),
            "movie_highdef_bitrate": settings.get_int("MOVIE_HIGHDEF_BITRATE"),
            "movie_lowdef_bitrate": settings.get_int("MOVIE_LOWDEF_BITRATE"),
            "preview_accounts_enabled": settings.get_bool("PREVIEW_ACCOUNTS_ENABLED"),
        }
    )


def metrics_route(gw, route, request, args, claims, context):
    from werkzeug.wrappers import Response

    from . import metrics

    body, ctype = metrics.render()
    return Response(body, content_type=ctype)


def openapi_route(gw, route, request, args, claims, context):
    _, _, json_response = _app()
    return json_response(openapi.build(gw.routes))


# Zou's keys of /data/user/context, in Zou's order (measured on Zou 1.0.97):
# (key, owner service, rpc method, kwargs, value when the owner is not up).
_CONTEXT_PARTS = (
    ("asset_types", "assets", "crud_list", {"model": "asset-types", "query": {}}, list),
    ("custom_actions", "assets", "crud_list", {"model": "custom-actions", "query": {}}, list),
    ("status_automations", "tasks", "crud_list", {"model": "status-automations", "query": {}}, list),
    ("departments", "auth", "crud_list", {"model": "departments", "query": {}}, list),
    ("studios", "auth", "crud_list", {"model": "studios", "query": {}}, list),
    ("notification_count", "notifications", "unread_count", {}, int),
    ("persons", "auth", "crud_list", {"model": "persons", "query": {"relations": "true"}}, list),
    ("project_status", "assets", "crud_list", {"model": "project-status", "query": {}}, list),
    ("project_roles", "assets", "user_project_roles", {}, dict),
    ("projects", "assets", "user_projects_context", {}, list),
    ("task_types", "tasks", "crud_list", {"model": "task-types", "query": {}}, list),
    ("task_status", "tasks", "crud_list", {"model": "task-status", "query": {}}, list),
    ("search_filters", "auth", "user_filters", {}, dict),
    ("search_filter_groups", "auth", "user_filter_groups", {}, dict),
    ("preview_background_files", "previews", "crud_list", {"model": "preview-background-files", "query": {}}, list),
)
CONTEXT_KEYS = tuple(p[0] for p in _CONTEXT_PARTS) + ("plugins", "user_limit")
_pool = None


def _executor():
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="user-context")
    return _pool


def user_context(gw, route, request, args, claims, context):
    """Kitsu's bootstrap, composed from the services that own each part, in
    parallel. A part whose service is not deployed (or not yet offering the
    method) comes back empty; a part the caller may not read comes back
    empty too. ``user_limit`` is only for admins, as in Zou."""
    import logging

    from slatekit import errors
    from slatekit.rpc_client import RemoteError

    _, _, json_response = _app()
    log = logging.getLogger("slate.gateway")

    def part(service, method, kwargs, empty):
        try:
            return gw.rpc.call(service, method, kwargs, context)
        except (ServiceUnavailable, RpcTimeout, errors.Forbidden, errors.NotFound):
            return empty()
        except RemoteError as exc:
            log.warning("user context: %s.%s failed: %s", service, method, exc.exc_type)
            return empty()

    futures = [(key, _executor().submit(part, svc, method, kw, empty)) for key, svc, method, kw, empty in _CONTEXT_PARTS]
    doc = {key: future.result() for key, future in futures}
    # Guests of shared review links are persons but not the studio's (Zou
    # leaves them out of the context, not out of /data/persons).
    doc["persons"] = [p for p in doc.get("persons") or [] if not (isinstance(p, dict) and p.get("is_guest"))]
    doc["plugins"] = []  # Zou plugins are not supported (docs/specs/zou-compat.md)
    if context.get("role") == "admin":
        doc["user_limit"] = settings.get_int("USER_LIMIT")
    return json_response(doc)


# ---------------------------------------------------------------- shared review links (guests)
def _shared_rpc(gw, route, request, args, context):
    """The route's RPC with path args, fixed args, query and body, as a plain
    route calls it; an error the owner flags ``bare`` is answered in Zou's
    ``{"error": "<text>"}`` shape (the shared-playlist resources' own)."""
    from slatekit import errors

    kwargs = dict(args)
    kwargs.update(route.fixed)
    kwargs["query"] = {k: request.args.get(k) for k in request.args}
    body = gw.read_body(route, request)
    if body is not None:
        kwargs["body"] = body
    try:
        return gw.call(route.service, route.rpc, kwargs, context), None
    except errors.SlateError as exc:
        return None, shared_error(exc)


def shared_error(exc):
    """Zou's ``{"error": "<text>"}`` for an error its owner flags ``bare``;
    any other error goes on to the gateway's usual mapping."""
    _, _, json_response = _app()
    if exc.extra.get("bare"):
        return json_response({"error": exc.message}, exc.status)
    raise exc


def shared_call(gw, route, request, args, claims, context):
    """A ``/shared/playlists/<token>/...`` JSON route (the token is the access)."""
    _, _, json_response = _app()
    result, error = _shared_rpc(gw, route, request, args, context)
    if error is not None:
        return error
    if route.status == 204:
        return json_response(None, 204)
    return json_response(result, route.status)


def shared_guest(gw, route, request, args, claims, context):
    """POST /shared/playlists/<token>/guest: 200 with the guest it names, 201
    with the guest it created (or found by name), as Zou."""
    _, _, json_response = _app()
    result, error = _shared_rpc(gw, route, request, args, context)
    if error is not None:
        return error
    return json_response(result["person"], 201 if result.get("created") else 200)
