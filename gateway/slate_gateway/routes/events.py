"""Routes owned by the events service: the event log, the test event, webhooks.

The socket.io stream (``/socket.io``, namespace ``/events``) is not a route:
the gateway hands those paths to ``stream_proxy``.
"""

from . import ADMIN, ANY, MANAGERS, PUBLIC, Route

_CRUD = {"model": "events"}

ROUTES = [
    Route("GET", "/data/events/last", "events", "last_events", ANY, summary="Last events (after, before, limit, only_files, project_id, name…); the replay route of offline clients"),
    Route("GET", "/data/events/names", "events", "event_names", ANY, summary="Names of the events present in the log"),
    Route("GET", "/data/events", "events", "crud_list", ADMIN, _CRUD, summary="List events (Zou filters, paging)"),
    Route("POST", "/data/events", "events", "crud_create", ADMIN, _CRUD, 201, summary="Create an event row", body="object"),
    Route("GET", "/data/events/<instance_id>", "events", "crud_get", ADMIN, _CRUD, summary="Get an event row"),
    Route("PUT", "/data/events/<instance_id>", "events", "crud_update", ADMIN, _CRUD, summary="Update an event row", body="object"),
    Route("DELETE", "/data/events/<instance_id>", "events", "crud_delete", ADMIN, _CRUD, 204, summary="Delete an event row"),
    Route("GET", "/status/test-event", "events", "test_event", PUBLIC, summary="Emit main:test on the live stream"),
    # Slate additions: outbound webhooks per project (signed POSTs, retries, delivery log).
    Route("GET", "/data/projects/<project_id>/webhooks", "events", "list_webhooks", MANAGERS, summary="Webhooks of a project"),
    Route("POST", "/data/projects/<project_id>/webhooks", "events", "create_webhook", MANAGERS, status=201, summary="Subscribe a URL to event names of a project (returns the signing secret once)", body="object"),
    Route("GET", "/data/webhooks/<webhook_id>", "events", "get_webhook", MANAGERS, summary="A webhook"),
    Route("PUT", "/data/webhooks/<webhook_id>", "events", "update_webhook", MANAGERS, summary="Update a webhook", body="object"),
    Route("DELETE", "/data/webhooks/<webhook_id>", "events", "delete_webhook", MANAGERS, status=204, summary="Delete a webhook and its delivery log"),
    Route("GET", "/data/webhooks/<webhook_id>/deliveries", "events", "webhook_deliveries", MANAGERS, summary="Delivery log of a webhook (status=pending|failed|delivered|dead)"),
    Route("POST", "/actions/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", "events", "redeliver", MANAGERS, summary="Replay a dead delivery"),
]

NOT_SERVED: dict = {}
