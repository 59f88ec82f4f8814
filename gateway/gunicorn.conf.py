"""gunicorn settings for the gateway (gthread: nameko's eventlet worker is gone
from gunicorn >= 26 and the gateway's RPC clients are thread-local)."""

import os

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
timeout = int(float(os.environ.get("RPC_TIMEOUT", "10"))) + 20
graceful_timeout = 25
keepalive = 5
accesslog = None
