"""Configuration from the environment (12-factor). Every variable is listed in
``SETTINGS``; ``docs/specs/configuration.md`` is checked against it by a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    doc: str
    secret: bool = False


SETTINGS: list[Setting] = [
    Setting("SLATE_ENV", "production", "`production`, `development` or `test`. Only `test` accepts throwaway secrets."),
    Setting("SECRET_KEY", None, "Signs JWTs. Required; the suite refuses to start on an empty or placeholder value.", True),
    Setting("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/slate", "Administrative URL of the PostgreSQL database. `make migrate` uses it to create each service's login role and schema; services derive their own URL from it (same host and database, user `slate_<service>`)."),
    Setting("<SERVICE>_DATABASE_URL", None, "Optional per-service URL (e.g. `AUTH_DATABASE_URL`), to give one service its own server or credentials."),
    Setting("SERVICE_DB_PASSWORD", None, "Password given to the per-service login roles when `make migrate` creates them (omit with trust auth).", True),
    Setting("DB_POOL_SIZE", None, "SQLAlchemy pool size per service process; default `MAX_WORKERS` + 4 (the workers, the outbox relay, its listener, timers). With fewer pooled connections than concurrent users, each extra one opens and closes a connection of its own: at 200 events/s with a pool of 2 that was most of the events service's CPU. Pools grow only as needed, but seven services at full load reach ~100 connections: raise PostgreSQL's `max_connections` or put PgBouncer in front when scaling out."),
    Setting("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ URL used for RPC and events."),
    Setting("REDIS_URL", "redis://127.0.0.1:6379/0", "Redis for the token blocklist and login rate limits."),
    Setting("RPC_TIMEOUT", "10", "Seconds the gateway (and services) wait for an RPC reply; also the AMQP expiration of the request."),
    Setting("EVENT_RETRY_LIMIT", "5", "Deliveries of an event to a failing handler before it is parked in the dead-letter queue."),
    Setting("EVENT_RETRY_DELAY_MS", "1000", "First retry delay of a failed event handler; doubles per attempt."),
    Setting("OUTBOX_POLL_SECONDS", "0.5", "How often an idle outbox relay looks for unpublished events."),
    Setting("LOG_LEVEL", "INFO", "Log level of every process (JSON lines on stdout)."),
    Setting("GATEWAY_BIND", "127.0.0.1:8080", "Address the gateway listens on."),
    Setting("GATEWAY_WORKERS", "2", "gunicorn worker processes of the gateway."),
    Setting("GATEWAY_THREADS", "16", "gunicorn threads per gateway worker."),
    Setting("MAX_BODY_BYTES", "10485760", "Largest JSON or form body the gateway reads; larger requests get 413 before being read."),
    Setting("CORS_ORIGINS", "", "Comma-separated origins allowed to call the API with credentials. Never `*`."),
    Setting("COOKIE_SECURE", "false", "Mark the JWT cookies `Secure` (set to true behind HTTPS)."),
    Setting("ACCESS_TOKEN_MINUTES", "10080", "Lifetime of an access token (Zou: 7 days)."),
    Setting("REFRESH_TOKEN_MINUTES", "21600", "Lifetime of a refresh token (Zou: 15 days)."),
    Setting("LOGIN_LOCK_ATTEMPTS", "5", "Failed logins that lock an account."),
    Setting("LOGIN_LOCK_SECONDS", "60", "How long a locked account stays locked."),
    Setting("LOGIN_RATE_PER_MINUTE", "30", "Login attempts per client IP per minute before 429."),
    Setting("ADMIN_EMAIL", "admin@example.com", "Admin created by `make up` (and `slate-auth create-admin`)."),
    Setting("ADMIN_PASSWORD", None, "Password of that admin. Required by `make up`.", True),
    Setting("DOMAIN_NAME", "localhost:8080", "Public host of the Kitsu UI; used in mails and as WebAuthn relying party."),
    Setting("DOMAIN_PROTOCOL", "http", "Protocol of `DOMAIN_NAME` links."),
    Setting("SMTP_HOST", "", "SMTP server for password-reset and notification mails; empty logs the mail instead."),
    Setting("SMTP_PORT", "25", "SMTP port."),
    Setting("SMTP_USER", "", "SMTP login."),
    Setting("SMTP_PASSWORD", "", "SMTP password.", True),
    Setting("MAIL_FROM", "slate@localhost", "Sender of Slate's mails."),
    Setting("HEALTH_PORT_BASE", "8100", "Each service serves /healthz and /readyz on base + its index (auth 8101, assets 8102, …)."),
    Setting("SLATE_RUN_DIR", "var/run", "Where `make up` keeps pid files and logs."),
    # ---- processes
    Setting("MAX_WORKERS", "10", "Concurrent RPC/event workers per service process (nameko `max_workers`)."),
    Setting("PREFETCH_COUNT", "10", "Messages a service process takes from RabbitMQ ahead of its workers."),
    Setting("HEALTH_PORT", None, "Overrides the health port of one service process (else `HEALTH_PORT_BASE` + its index)."),
    Setting("HEALTH_BIND_ALL", "", "Set to listen for /healthz and /readyz on 0.0.0.0 (containers) instead of 127.0.0.1."),
    # ---- storage and previews
    Setting("STORAGE_DIR", None, "Root directory of stored binaries (default `<repo>/var/storage`; previews, attachments, builds); the gateway and the previews service must see the same one."),
    Setting("MAX_UPLOAD_BYTES", "4294967296", "Largest file upload the gateway accepts (413 before reading when the declared length is larger)."),
    Setting("STORAGE_BACKEND", "local", "Where binaries are stored: `local` (the `STORAGE_DIR` directory) or `s3` (a bucket of an S3-compatible server: AWS S3, MinIO, Ceph RGW; see the `S3_*` settings). Gateway and previews service must use the same."),
    Setting("S3_ENDPOINT_URL", "", "URL of the S3-compatible server (e.g. `http://minio:9000`); empty means AWS S3 itself."),
    Setting("S3_BUCKET", "", "Bucket holding the binaries (created beforehand) when `STORAGE_BACKEND=s3`."),
    Setting("S3_REGION", "", "Region of the bucket (e.g. `us-east-1`; MinIO accepts any)."),
    Setting("S3_ACCESS_KEY", "", "Access key id for the bucket; empty uses boto3's usual chain (environment, instance role)."),
    Setting("S3_SECRET_KEY", "", "Secret access key for the bucket.", True),
    Setting("SCRATCH_DIR", None, "Local working directory of the previews worker (Pillow, ffmpeg). Default `<STORAGE_DIR>/work` with local storage, `<system temp>/slate-work` with S3."),
    Setting("MEDIA_AUTH_CACHE_SECONDS", "10", "How long a gateway worker reuses an access decision for the same person and media file."),
    Setting("PREVIEW_NO_JOB_WAIT", "300", "Seconds an upload request waits for its preview to be processed when the client asks to wait."),
    Setting("PREVIEW_POLL_SECONDS", "0.5", "How often an idle previews worker looks for queued processing jobs."),
    Setting("PREVIEW_JOB_LEASE_SECONDS", "30", "Lease of a processing job; a worker that dies leaves the job to be taken again when the lease runs out."),
    Setting("PREVIEW_JOB_TIME_LIMIT", "900", "Seconds a single processing job may run before it is stopped and retried (then marked broken)."),
    Setting("PREVIEW_JOB_MAX_ATTEMPTS", "3", "Attempts of a processing job before the preview is marked broken."),
    Setting("PREVIEW_MAX_PIXELS", "120000000", "Largest picture (width × height) accepted; bigger ones are refused as decompression bombs."),
    Setting("FFMPEG_THREADS", "2", "Threads given to each ffmpeg run."),
    Setting("PREVIEW_FRAME_TIME_LIMIT", "120", "Seconds one frame extraction request (extract-frame, extract-tile, annotated frames, their zip or PDF) may spend in ffmpeg and Pillow before it is stopped; the gateway waits this plus 15 s."),
    Setting("PREVIEW_MAX_ANNOTATED_FRAMES", "200", "Most annotated frames one zip or PDF of annotated frames may hold (more is refused with 400)."),
    Setting("PREVIEW_FRAME_KEEP_SECONDS", "3600", "Extracted frames and annotated-frame bundles are kept this long as a cache, then swept."),
    # ---- event stream
    Setting("STREAM_URL", "http://127.0.0.1:8090", "Where the gateway finds the socket.io stream process (relay and readiness)."),
    Setting("STREAM_HOST", "127.0.0.1", "Address the stream process listens on."),
    Setting("STREAM_PORT", "8090", "Port the stream process listens on."),
    Setting("STREAM_PING_INTERVAL", "25", "engine.io ping interval of the stream (seconds)."),
    Setting("STREAM_PING_TIMEOUT", "20", "engine.io ping timeout of the stream (seconds)."),
    Setting("STREAM_PROXY_TIMEOUT", "60", "Seconds the gateway's relay waits on the stream for one request (longer than a long-poll)."),
    Setting("STREAM_QUEUE_TTL_MS", "60000", "Live events older than this are dropped from the stream's feed queue (offline clients replay from `/data/events/last`)."),
    Setting("STREAM_MANAGER_WARMUP", "1.0", "Seconds the stream waits for its emit channel to bind before relaying events."),
    # ---- webhooks and chat integrations
    Setting("WEBHOOK_ALLOWED_NETWORKS", "", "Comma-separated CIDR ranges webhooks and Slack/Mattermost/Discord hooks may reach although private, loopback or link-local (refused by default)."),
    Setting("WEBHOOK_MAX_ATTEMPTS", "6", "Deliveries of a webhook before it is dead-lettered."),
    Setting("WEBHOOK_RETRY_BASE_SECONDS", "5", "First retry delay of a webhook delivery; doubles per attempt."),
    Setting("WEBHOOK_TIMEOUT_SECONDS", "5", "HTTP timeout of one webhook delivery."),
    # ---- auth
    Setting("TWO_FA_EXEMPT_USERS", "", "Comma-separated emails exempt from `ENFORCE_2FA` (e.g. bots, the first admin)."),
    # ---- tests and fault injection (ignored unless SLATE_ENV=test where noted)
    Setting("SLATE_TEST_DATABASE_URL", None, "Tests: administrative URL of the server where each run creates its own database (default `DATABASE_URL`)."),
    Setting("SLATE_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", "Tests: RabbitMQ where each run creates its own vhost."),
    Setting("SLATE_KEEP_TEST_ENV", "", "Tests: keep the run's database and vhost afterwards (debugging)."),
    Setting("SLATE_EXIT_WITH_PARENT", "", "Set to 1 (by the test fixtures) so a service process dies with its parent."),
    Setting("SLATE_FAULT_RELAY_EXIT_AFTER_PUBLISH", "", "Fault test F14 (SLATE_ENV=test only): the outbox relay exits right after publishing, before marking."),
    Setting("SLATE_FAULT_NOTIFICATIONS_EXIT_AFTER", "", "Fault test F1 (SLATE_ENV=test only): the notifications consumer exits after N events."),
]

_PLACEHOLDERS = {"", "changeme", "secret", "secret-key", "mysecretkey", "placeholder", "xxx", "please-change-me"}


def get(name: str, default: str | None = None) -> str | None:
    if default is None:
        for s in SETTINGS:
            if s.name == name:
                default = s.default
                break
    return os.environ.get(name, default)


def get_int(name: str) -> int:
    return int(get(name) or 0)


def get_float(name: str) -> float:
    return float(get(name) or 0)


def get_bool(name: str) -> bool:
    return (get(name) or "").lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    pass


def secret_key() -> str:
    """The signing key; refuses an empty or placeholder value."""
    key = os.environ.get("SECRET_KEY", "")
    if key.lower() in _PLACEHOLDERS or len(key) < 16:
        raise ConfigError(
            "SECRET_KEY is empty, too short or a placeholder: set a random value of at least 16 characters"
        )
    return key


def amqp_uri() -> str:
    return get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"


def nameko_config(service: str) -> dict:
    """Config dict for `nameko run` / ServiceContainer."""
    return {
        "AMQP_URI": amqp_uri(),
        "SERIALIZER": "json",
        "max_workers": int(os.environ.get("MAX_WORKERS", "10")),
        "parent_calls_tracked": 10,
        "HEARTBEAT": 15,
        "PREFETCH_COUNT": int(os.environ.get("PREFETCH_COUNT", "10")),
        "SLATE_SERVICE": service,
    }
