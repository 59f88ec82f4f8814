"""The processing queue on PostgreSQL: lease, heartbeat, finish, give up.

A worker leases the oldest queued job, or a running one whose lease expired
(its worker died), with ``FOR UPDATE SKIP LOCKED`` so replicas share the
queue. Each lease counts an attempt. While it works, the worker extends the
lease (heartbeat). A job out of attempts is failed, never left running.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from slatekit.crud import now
from sqlalchemy import or_, select

from .models import Job

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def lease_seconds() -> int:
    return int(os.environ.get("PREVIEW_JOB_LEASE_SECONDS") or 30)


def time_limit() -> float:
    return float(os.environ.get("PREVIEW_JOB_TIME_LIMIT") or 900)


def max_attempts() -> int:
    return int(os.environ.get("PREVIEW_JOB_MAX_ATTEMPTS") or 3)


def lease(session) -> Job | None:
    current = now()
    job = session.scalars(
        select(Job)
        .where(or_(Job.status == "queued", (Job.status == "running") & (Job.lease_until < current)))
        .order_by(Job.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return None
    job.status = "running"
    job.attempts = (job.attempts or 0) + 1
    job.worker = WORKER_ID
    job.heartbeat_at = current
    job.lease_until = current + dt.timedelta(seconds=lease_seconds())
    return job


def heartbeat(session, job_id: str) -> None:
    job = session.get(Job, job_id)
    if job is not None and job.status == "running" and job.worker == WORKER_ID:
        job.heartbeat_at = now()
        job.lease_until = job.heartbeat_at + dt.timedelta(seconds=lease_seconds())
