"""gunicorn settings for the gateway (gthread: nameko's eventlet worker is gone
from gunicorn >= 26 and the gateway's RPC clients are thread-local)."""

import os
import shutil
import tempfile

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
timeout = int(float(os.environ.get("RPC_TIMEOUT", "10"))) + 20
graceful_timeout = 25
keepalive = 5
accesslog = None

# Prometheus multiprocess mode: every worker writes its samples to one
# directory and /metrics sums them, whichever worker answers the scrape.
# The directory must exist (and be empty) before the workers import the app.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="slate-gateway-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
