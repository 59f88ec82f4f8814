"""JSON logs on stdout, one event per line, keeping nameko's own error logs
(``disable_existing_loggers`` stays false)."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
import time

from . import config

_SERVICE = "slate"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": _SERVICE,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("trace_id", "user_id", "entrypoint", "event_id", "event_name", "project_id", "status", "path", "method", "duration_ms", "attempt", "queue"):
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup(service: str) -> None:
    global _SERVICE
    _SERVICE = service
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": JsonFormatter}},
            "handlers": {
                "stdout": {"class": "logging.StreamHandler", "stream": sys.stdout, "formatter": "json"}
            },
            "root": {"level": config.get("LOG_LEVEL") or "INFO", "handlers": ["stdout"]},
            "loggers": {"kombu": {"level": "WARNING"}, "amqp": {"level": "WARNING"}},
        }
    )
