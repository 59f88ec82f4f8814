"""The WSGI application: match a Zou route, authenticate, call the owner.

Served by gunicorn ``gthread``; every route answers at ``/`` and ``/api``,
and a doubled slash reads as one (Kitsu's nginx forwards ``//data/x``).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid

from slatekit import config, errors
from slatekit.rpc_client import RemoteError, RpcPool, RpcTimeout, ServiceUnavailable
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import handlers, metrics, tokens
from .routes import PUBLIC, Route, all_routes

log = logging.getLogger("slate.gateway")

_SLASHES = re.compile(r"/{2,}")
# Zou's browser test (flask_utils.is_from_browser): the ua-parser family of the
# User-Agent is one of these. HeadlessChrome, Chromium, Electron apps, curl,
# python-requests and gazu are not browsers: they get no cookies.
BROWSER_FAMILIES = frozenset(
    {"Brave", "Chrome", "Chrome Mobile", "Chrome Mobile iOS", "Edge", "Firefox", "Mobile Safari", "Opera",
     "Safari", "Vivaldi"}
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# Zou's (werkzeug's) texts, kept word for word: clients and tests match on them.
NOT_FOUND_MESSAGE = (
    "404 Not Found: The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again."
)
METHOD_NOT_ALLOWED_MESSAGE = "The method is not allowed for the requested URL."
BAD_REQUEST_MESSAGE = "The browser (or proxy) sent a request that this server could not understand."
TOO_LARGE_MESSAGE = "The data value transmitted exceeds the capacity limit."
SERVER_ERROR_MESSAGE = "Internal server error."
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def werkzeug_path(path: str) -> str:
    return path  # Zou's paths are werkzeug rules already (<name>, <path:name>)


def build_map(routes: list[Route]) -> Map:
    rules = []
    for index, route in enumerate(routes):
        for prefix in ("", "/api"):
            rule_path = prefix + route.path if route.path != "/" else (prefix or "/")
            rules.append(Rule(rule_path, methods=[route.method], endpoint=index))
    return Map(rules, strict_slashes=False, merge_slashes=True)


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    if status == 204:
        resp = Response(status=204)
    else:
        resp = Response(json.dumps(payload, default=str), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def error_response(status: int, message: str, extra: dict | None = None) -> Response:
    body = {"error": True, "message": message}
    if extra:
        body.update({k: v for k, v in extra.items() if k not in ("error", "message")})
    return json_response(body, status)


@functools.lru_cache(maxsize=2048)
def browser_family(user_agent: str) -> str | None:
    from ua_parser import parse

    parsed = parse(user_agent).user_agent
    return parsed.family if parsed else None


def is_browser(request: Request) -> bool:
    ua = request.headers.get("User-Agent") or ""
    return bool(ua) and browser_family(ua[:512]) in BROWSER_FAMILIES


def close_connection_after(environ) -> None:
    """Ask gunicorn to close the connection after this response instead of
    draining an unread (possibly endless) request body for keep-alive."""
    reader = getattr(environ.get("wsgi.input"), "reader", None)
    req = getattr(reader, "req", None)
    if req is not None and hasattr(req, "must_close"):
        req.must_close = True
    else:
        environ["slate.close"] = True


def too_large(environ) -> Response:
    close_connection_after(environ)
    resp = error_response(413, TOO_LARGE_MESSAGE)
    resp.headers["Connection"] = "close"
    return resp


def cors_origins(value: str) -> set[str]:
    """Configured origins, exactly as browsers send them (no trailing slash).
    A wildcard is dropped with a warning: credentials are allowed, so only
    named origins may ever be echoed."""
    origins = {o.strip().rstrip("/") for o in value.split(",") if o.strip()}
    if any("*" in o for o in origins):
        log.warning("CORS_ORIGINS: wildcards are ignored; list each origin")
        origins = {o for o in origins if "*" not in o}
    return origins


class Gateway:
    def __init__(self):
        self.routes = all_routes()
        self.url_map = build_map(self.routes)
        self.rpc = metrics.MeteredRpc(RpcPool())
        self.max_body = int(config.get("MAX_BODY_BYTES") or 10 * 1024 * 1024)
        self.cors_origins = cors_origins(config.get("CORS_ORIGINS") or "")
        config.secret_key()  # refuse to start on a placeholder secret

    # ---------------------------------------------------------------- WSGI
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if "//" in path:
            path = environ["PATH_INFO"] = _SLASHES.sub("/", path)
        if path.startswith(("/socket.io", "/api/socket.io")):
            # The live event stream (socket.io, namespace /events) is relayed
            # to the events service's stream process; see stream_proxy.py.
            try:
                from . import stream_proxy
            except ImportError:
                return error_response(404, NOT_FOUND_MESSAGE)(environ, start_response)
            return stream_proxy.proxy(environ, start_response)
        request = Request(environ)
        request.max_content_length = self.max_body
        started = time.perf_counter()
        trace_id = _trace_id(request.headers.get("X-Request-Id"))
        environ["slate.route"] = "unmatched"
        try:
            response = self.dispatch(request, trace_id)
        except Exception:  # noqa: BLE001 - never show internals
            log.exception("unhandled gateway error", extra={"trace_id": trace_id})
            response = error_response(500, SERVER_ERROR_MESSAGE)
        self.decorate(request, response, trace_id)
        elapsed = time.perf_counter() - started
        metrics.observe_request(request.method, environ["slate.route"], response.status_code, elapsed)
        log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"trace_id": trace_id, "status": response.status_code, "path": request.path,
                   "method": request.method, "duration_ms": round(elapsed * 1000, 2)},
        )
        return response(environ, start_response)

    def decorate(self, request: Request, response: Response, trace_id: str) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["X-Request-Id"] = trace_id
        origin = request.headers.get("Origin")
        if origin and origin in self.cors_origins:
            # Only configured origins are echoed, never "*" (credentials are allowed).
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = "X-Request-Id"
            response.vary.add("Origin")

    def dispatch(self, request: Request, trace_id: str) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            return self.preflight(request, adapter)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return error_response(404, NOT_FOUND_MESSAGE)
        except MethodNotAllowed:
            return error_response(405, METHOD_NOT_ALLOWED_MESSAGE)
        except HTTPException as exc:  # e.g. a redirect werkzeug would ask for: not Zou's way
            return error_response(exc.code or 400, BAD_REQUEST_MESSAGE)
        route = self.routes[endpoint]
        request.environ["slate.route"] = route.path
        if route.handler and route.handler.startswith("media:"):
            # Media handlers stream the body to storage under their own
            # limit (MAX_UPLOAD_BYTES, checked on Content-Length first).
            request.max_content_length = None
        elif request.content_length is not None and request.content_length > self.max_body:
            return too_large(request.environ)  # refused before a byte of the body is read
        try:
            return self.run(route, request, args, trace_id)
        except tokens.TokenError as exc:
            return json_response(exc.body, exc.status)
        except (RpcTimeout, ServiceUnavailable) as exc:
            return error_response(exc.status, exc.message)
        except errors.Unauthenticated as exc:
            if exc.message == tokens.REVOKED:
                return json_response({"msg": tokens.REVOKED}, 401)
            return error_response(exc.status, exc.message, exc.extra)
        except errors.SlateError as exc:
            return error_response(exc.status, exc.message, exc.extra)
        except RequestEntityTooLarge:
            return too_large(request.environ)
        except RemoteError as exc:
            log.error("remote error in %s.%s: %s", route.service, route.rpc, exc, extra={"trace_id": trace_id})
            return error_response(500, SERVER_ERROR_MESSAGE)

    def preflight(self, request: Request, adapter) -> Response:
        """OPTIONS: Zou answers 200 with ``Allow``; CORS headers only for
        configured origins."""
        try:
            allowed = sorted(set(adapter.allowed_methods()) | {"OPTIONS"})
        except HTTPException:
            allowed = []
        if len(allowed) <= 1:
            return error_response(404, NOT_FOUND_MESSAGE)
        resp = Response(status=200)
        resp.headers["Allow"] = ", ".join(allowed)
        origin = request.headers.get("Origin")
        if origin and origin in self.cors_origins:
            resp.headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
            resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
            resp.headers["Access-Control-Max-Age"] = "600"
        return resp

    # ---------------------------------------------------------------- a route
    def authenticate(self, route: Route, request: Request) -> tuple[dict, dict, bool]:
        """Returns (claims, principal, from_cookie). Token errors come back in
        flask-jwt-extended's shapes, as Zou answers them (tokens.TokenError)."""
        cookie = "refresh_token_cookie" if route.token == "refresh" else "access_token_cookie"
        token, from_cookie = tokens.find_token(request.headers.get("Authorization"), request.cookies.get(cookie), cookie)
        claims = tokens.decode(token, route.token)

        def fetch(pid):
            try:
                return self.rpc.call("auth", "get_principal", {"person_id": pid})
            except (errors.NotFound, errors.Invalid):
                return {"active": False}

        principal = tokens.principal(claims["sub"], fetch)
        return claims, principal, from_cookie

    def csrf_check(self, request: Request) -> None:
        """Cookie-authenticated writes must come from our own origin (Kitsu is
        served from the same host as the API) or a configured CORS origin.
        Zou leaves CSRF protection off; a foreign page could otherwise post
        with the victim's cookies when SameSite does not apply."""
        origin = request.headers.get("Origin")
        if origin is None:
            referer = request.headers.get("Referer")
            if not referer:
                return  # not a browser page: nothing to forge with
            m = re.match(r"^(https?://[^/?#]+)", referer)
            origin = m.group(1) if m else "null"
        origin = origin.rstrip("/")
        if origin in self.cors_origins:
            return
        m = re.match(r"^https?://([^/]+)$", origin)
        if m:
            hosts = {request.host, request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()}
            domain = config.get("DOMAIN_NAME")
            if domain:
                hosts.add(domain)
            if m.group(1) in hosts - {""}:
                return
        raise errors.Forbidden("Cross-site request refused: the Origin is not allowed.")

    def read_body(self, route: Route, request: Request):
        if request.method in SAFE_METHODS:
            return None
        data = request.get_data(cache=True)  # bounded by max_content_length
        if request.content_length is None and len(data) >= self.max_body:
            request.stream.read(1)  # a streamed body at the limit: raises 413 if there is more
        if not data:
            return {} if route.body == "object" else None
        ctype = request.mimetype or ""
        if ctype.startswith("multipart/") or ctype == "application/x-www-form-urlencoded":
            return request.form.to_dict()
        try:
            body = json.loads(data)
        except ValueError:
            raise errors.Invalid(BAD_REQUEST_MESSAGE) from None
        if route.body == "object" and not isinstance(body, dict):
            raise errors.Invalid("A JSON object is expected.")
        return body

    @staticmethod
    def handler(name: str):
        """``fn`` in handlers.py, or ``module:fn`` in another gateway module
        (e.g. ``media:upload_preview``). Handlers read the body themselves
        (``gw.read_body(route, request)``) so that uploads can stream."""
        if ":" in name:
            import importlib

            module, _, fn = name.partition(":")
            return getattr(importlib.import_module(f"slate_gateway.{module}"), fn)
        return getattr(handlers, name)

    def run(self, route: Route, request: Request, args: dict, trace_id: str) -> Response:
        claims: dict = {}
        principal: dict = {}
        if route.roles != PUBLIC:
            claims, principal, from_cookie = self.authenticate(route, request)
            if from_cookie and request.method not in SAFE_METHODS:
                self.csrf_check(request)
            tokens.check_2fa_setup(claims, route.path)
            tokens.check_role(principal.get("role"), route.roles)
        context = {
            "user_id": claims.get("sub"),
            "role": principal.get("role"),
            "jti": claims.get("jti"),
            "is_bot": principal.get("is_bot"),
            "departments": principal.get("departments") or [],
            "trace_id": trace_id,
        }
        if route.handler:
            return self.handler(route.handler)(self, route, request, args, claims, context)
        body = self.read_body(route, request)
        kwargs = dict(args)
        kwargs.update(route.fixed)
        kwargs["query"] = {k: request.args.get(k) for k in request.args}
        if body is not None:
            kwargs["body"] = body
        if route.idempotent and request.headers.get("Idempotency-Key"):
            kwargs["idempotency_key"] = request.headers["Idempotency-Key"][:200]
        result = self.call(route.service, route.rpc, kwargs, context)
        if route.status == 204 or (result is None and route.method == "DELETE"):
            return json_response(None, 204)
        return json_response(result, route.status)


    def call(self, service: str, method: str, kwargs: dict, context: dict | None = None, timeout: float | None = None):
        return self.rpc.call(service, method, kwargs, context, timeout)


_TRACE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _trace_id(given: str | None) -> str:
    """A client's X-Request-Id is kept when it is a sane token (it lands in
    logs and headers); anything else gets a fresh id."""
    return given if given and _TRACE.match(given) else uuid.uuid4().hex


def create_app() -> Gateway:
    from slatekit import logs

    logs.setup("gateway")
    return Gateway()
