"""Entrypoints of the assets service: projects and the breakdown.

The RPC methods live in mixins split by area (projects.py, breakdown.py,
casting.py, metadata.py, crud.py, templates.py, projections.py); this module
assembles them into the nameko service. Every RPC called by the gateway takes
its path parameters by name plus ``query`` and ``body``; the caller comes
from the context data (``self.store.caller``).
"""

from __future__ import annotations

from slatekit.health import HealthMixin
from slatekit.service_rpc import ServiceRpc
from slatekit.store import Store

from .base import Helpers
from .breakdown import BreakdownMixin
from .casting import CastingMixin
from .crud import CrudMixin
from .metadata import MetadataMixin
from .models import metadata
from .projections import ProjectionsMixin
from .projects import ProjectsMixin
from .templates import TemplatesMixin


class AssetsService(HealthMixin, Helpers, ProjectsMixin, BreakdownMixin, CastingMixin, MetadataMixin,
                    CrudMixin, TemplatesMixin, ProjectionsMixin):
    name = "assets"
    store = Store(metadata)
    peers = ServiceRpc()



Service = AssetsService
