"""Routes the gateway answers itself."""

from . import ADMIN, ANY, PUBLIC, Route

ROUTES = [
    Route("GET", "/", "gateway", "index", PUBLIC, handler="index", summary="API name and version"),
    Route("GET", "/status", "gateway", "status", PUBLIC, handler="status", summary="Health of the API and its dependencies (Zou's shape)"),
    Route("GET", "/status.txt", "gateway", "status_txt", PUBLIC, handler="status_txt", summary="Health as plain text"),
    Route("GET", "/config", "gateway", "config", PUBLIC, handler="config_route", summary="Public configuration Kitsu reads at start-up"),
    Route("GET", "/stats", "gateway", "stats", ADMIN, handler="stats", summary="Counts of previews by kind and of comments (admin)"),
    Route("GET", "/status/influx", "gateway", "status_influx", PUBLIC, handler="status_influx", summary="Health as 0/1 flags with a timestamp (Zou's InfluxDB feed)"),
    Route("GET", "/openapi.json", "gateway", "openapi", PUBLIC, handler="openapi_route", summary="OpenAPI document generated from the route table"),
    Route("GET", "/openapi-raw.json", "gateway", "openapi", PUBLIC, handler="openapi_route", summary="The same OpenAPI document (Zou's raw spec route)"),
    Route("GET", "/metrics", "gateway", "metrics", PUBLIC, handler="metrics_route", summary="Prometheus metrics of the gateway (all workers)"),
    Route("GET", "/data/user/context", "gateway", "user_context", ANY, handler="user_context", summary="Kitsu's bootstrap: fan-out read of the caller's context"),
]

NOT_SERVED = {
    ("GET", "/admin/config/check"): "Zou keeps runtime settings in Redis; Slate's settings are env only (docs/specs/configuration.md).",
    ("GET", "/apidocs/"): "Swagger UI is not bundled; /openapi.json is served.",
    ("GET", "/apidocs/index.html"): "Swagger UI is not bundled; /openapi.json is served.",
    ("GET", "/docs/<path:filename>"): "Static docs belong to the deployment's web server.",
    ("GET", "/oauth2-redirect.html"): "Swagger UI is not bundled.",
    ("GET", "/static/<path:filename>"): "Static files belong to the deployment's web server.",
    ("GET", "/data/plugins"): "Zou plugins load code into Zou's process; Slate extends through events and webhooks instead.",
    ("POST", "/data/plugins"): "Zou plugins are not supported (see above).",
    ("DELETE", "/data/plugins/<instance_id>"): "Zou plugins are not supported (see above).",
    ("GET", "/data/plugins/<instance_id>"): "Zou plugins are not supported (see above).",
    ("PUT", "/data/plugins/<instance_id>"): "Zou plugins are not supported (see above).",
    ("GET", "/status/resources"): "Host CPU and memory figures belong to the monitoring stack (e.g. Prometheus node exporter), not to a public API route.",
    ("POST", "/data/search"): "Not yet: needs a search index fed by assets and auth events.",
}
