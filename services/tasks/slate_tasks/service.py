"""Entrypoints of the tasks service: task types and statuses, automations,
tasks and assignation, the comment workflow, time spents and timesheets,
schedules, milestones and budgets, and the projections it keeps of
projects, entities and persons.

Every RPC called by the gateway takes its path parameters by name plus
``query`` (the query string as a dict) and ``body`` (the parsed JSON). The
caller comes from the context data (``self.store.caller``). Areas live in
their own modules as mixins; this class only wires the dependencies.
"""

from __future__ import annotations

from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store

from .base import TasksBase
from .comments import CommentsMixin, GuestCommentsMixin
from .crud import CrudMixin, ReorderMixin
from .models import metadata
from .projections import ProjectionsMixin
from .schedule import ScheduleMixin
from .tasks import TasksMixin
from .timesheets import TimesheetsMixin


class TasksService(HealthMixin, TasksBase, CrudMixin, ReorderMixin, TasksMixin, CommentsMixin, GuestCommentsMixin,
                   TimesheetsMixin,
                   ScheduleMixin, ProjectionsMixin):
    name = "tasks"
    store = Store(metadata)
    peers = ServiceRpc()



Service = TasksService
