"""The WSGI application: match a Zou route, authenticate, call the owner.

Served by gunicorn ``gthread``; every route answers at ``/`` and ``/api``,
and a doubled slash reads as one (Kitsu's nginx forwards ``//data/x``).
"""

from __future__ import annotations

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

from . import handlers, tokens
from .routes import PUBLIC, Route, all_routes

log = logging.getLogger("slate.gateway")

_SLASHES = re.compile(r"/{2,}")
_BROWSERS = ("mozilla", "chrome", "safari", "firefox", "opera", "edg/", "webkit", "lynx", "links")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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


def is_browser(request: Request) -> bool:
    ua = (request.headers.get("User-Agent") or "").lower()
    return any(b in ua for b in _BROWSERS)


class Gateway:
    def __init__(self):
        self.routes = all_routes()
        self.url_map = build_map(self.routes)
        self.rpc = RpcPool()
        self.max_body = int(config.get("MAX_BODY_BYTES") or 10 * 1024 * 1024)
        self.cors_origins = {o.strip() for o in (config.get("CORS_ORIGINS") or "").split(",") if o.strip()}
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
                return error_response(404, "Resource not found")(environ, start_response)
            return stream_proxy.proxy(environ, start_response)
        request = Request(environ)
        request.max_content_length = self.max_body
        started = time.perf_counter()
        trace_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        try:
            response = self.dispatch(request, trace_id)
        except Exception:  # noqa: BLE001 - never show internals
            log.exception("unhandled gateway error", extra={"trace_id": trace_id})
            response = error_response(500, "Internal server error")
        self.decorate(request, response, trace_id)
        log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"trace_id": trace_id, "status": response.status_code, "path": request.path,
                   "method": request.method, "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
        )
        return response(environ, start_response)

    def decorate(self, request: Request, response: Response, trace_id: str) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["X-Request-Id"] = trace_id
        origin = request.headers.get("Origin")
        if origin and origin in self.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"

    def dispatch(self, request: Request, trace_id: str) -> Response:
        if request.method == "OPTIONS":
            return self.preflight(request)
        if request.content_length is not None and request.content_length > self.max_body:
            return error_response(413, "Request body is too large")
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return error_response(404, "Resource not found")
        except MethodNotAllowed:
            return error_response(405, "The method is not allowed for the requested URL.")
        except HTTPException as exc:
            return error_response(exc.code or 400, exc.description or "Bad request")
        route = self.routes[endpoint]
        try:
            return self.run(route, request, args, trace_id)
        except errors.SlateError as exc:
            return error_response(exc.status, exc.message, exc.extra)
        except RpcTimeout as exc:
            return error_response(504, exc.message)
        except ServiceUnavailable as exc:
            return error_response(503, exc.message)
        except RequestEntityTooLarge:
            return error_response(413, "Request body is too large")
        except RemoteError as exc:
            log.error("remote error in %s.%s: %s", route.service, route.rpc, exc, extra={"trace_id": trace_id})
            return error_response(500, "Internal server error")

    def preflight(self, request: Request) -> Response:
        resp = Response(status=204)
        origin = request.headers.get("Origin")
        if origin and origin in self.cors_origins:
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
            resp.headers["Access-Control-Max-Age"] = "600"
        return resp

    # ---------------------------------------------------------------- a route
    def authenticate(self, route: Route, request: Request) -> tuple[dict, dict, bool]:
        """Returns (claims, principal, from_cookie)."""
        header = request.headers.get("Authorization", "")
        token = None
        from_cookie = False
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        if not token:
            cookie = "refresh_token_cookie" if route.token == "refresh" else "access_token_cookie"
            token = request.cookies.get(cookie)
            from_cookie = bool(token)
        if not token:
            raise errors.Unauthenticated("Missing Authorization Header")
        claims = tokens.decode(token, route.token)
        principal = tokens.principal(
            claims["sub"], lambda pid: self.rpc.call("auth", "get_principal", {"person_id": pid})
        )
        return claims, principal, from_cookie

    def csrf_check(self, request: Request) -> None:
        """Cookie-authenticated writes must come from our own origin."""
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if not origin:
            return
        host = request.host
        m = re.match(r"^https?://([^/]+)", origin)
        if m and (m.group(1) == host or origin.rstrip("/") in self.cors_origins or m.group(0) in self.cors_origins):
            return
        raise errors.Forbidden("Cross-site request refused")

    def read_body(self, route: Route, request: Request):
        if request.method in SAFE_METHODS:
            return None
        data = request.get_data(cache=True)  # bounded by max_content_length
        if not data:
            return {} if route.body == "object" else None
        ctype = request.mimetype or ""
        if ctype.startswith("multipart/") or ctype == "application/x-www-form-urlencoded":
            return request.form.to_dict()
        try:
            body = json.loads(data)
        except ValueError:
            raise errors.Invalid("Malformed JSON body") from None
        if route.body == "object" and not isinstance(body, dict):
            raise errors.Invalid("A JSON object is expected")
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
        result = self.rpc.call(route.service, route.rpc, kwargs, context)
        if route.status == 204 or (result is None and route.method == "DELETE"):
            return json_response(None, 204)
        return json_response(result, route.status)


def create_app() -> Gateway:
    from slatekit import logs

    logs.setup("gateway")
    return Gateway()
