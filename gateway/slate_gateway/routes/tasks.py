"""Routes owned by the tasks service: task types and statuses, automations,
tasks, assignation, comments, time spents, schedules, milestones, budgets."""

from dataclasses import replace as _replace

from . import ADMIN, ANY, MANAGERS, STAFF, SUPERVISORS, Route, crud

T = "tasks"
OBJ = "object"


def _r(method, path, rpc, roles=ANY, status=200, summary="", body=None, **fixed):
    return Route(method, path, T, rpc, roles, dict(fixed), status, summary=summary, body=body)


_ENTITY_KINDS = ("asset", "shot", "sequence", "episode", "scene", "edit", "concept")

ROUTES = [
    # ---- catalogues and generic CRUD
    *crud("task-types", T, read=ANY, write=ADMIN, name="task type"),
    *crud("task-status", T, read=ANY, write=ADMIN, name="task status"),
    *crud("status-automations", T, read=ANY, write=ADMIN, name="status automation"),
    *crud("tasks", T, read=ANY, write=SUPERVISORS, name="task"),
    *crud("time-spents", T, read=ADMIN, write=ADMIN, name="time spent"),
    *crud("schedule-items", T, read=ANY, write=MANAGERS, name="schedule item"),
    *crud("milestones", T, read=STAFF + ("client",), write=MANAGERS, name="milestone"),
    *crud("budgets", T, read=ADMIN, write=ADMIN, name="budget"),
    *crud("budget-entries", T, read=ADMIN, write=ADMIN, name="budget entry"),
    *crud("salary-scales", T, read=ADMIN, write=ADMIN, name="salary scale"),
    *crud("production-schedule-versions", T, read=ANY, write=MANAGERS, name="production schedule version"),
    *crud("production-schedule-version-task-links", T, read=ADMIN, write=ADMIN,
          name="production schedule version task link"),
    *crud("attachment-files", T, read=ADMIN, write=ADMIN, name="attachment file"),
    *[r for r in crud("comments", T, read=ADMIN, write=ANY, name="comment") if r.method != "POST"],
    _r("POST", "/data/comments", "crud_create", ADMIN, 201, "Create a comment row (admin)", OBJ, model="comments"),
    _r("POST", "/actions/task-types/reorder", "reorder_task_types", ADMIN, summary="Set task type priorities from an ordered id list"),
    # ---- tasks
    _r("GET", "/data/projects/<project_id>/tasks", "project_tasks", summary="Tasks of a project"),
    _r("GET", "/data/tasks/<task_id>/full", "task_full", summary="A task with entity, project, type, status and assignees"),
    _r("GET", "/data/tasks/open-tasks", "open_tasks", summary="Tasks of open projects, paged"),
    _r("GET", "/data/tasks/open-tasks/stats", "open_tasks_stats", summary="Open task counts per project, type and status"),
    _r("POST", "/data/entities/<entity_id>/tasks", "create_entity_tasks", MANAGERS, 201, "One task per given task type for an entity", OBJ),
    _r("GET", "/data/entities/<entity_id>/task-types/<task_type_id>/tasks", "entity_type_tasks", summary="Tasks of an entity for a task type"),
    _r("POST", "/actions/projects/<project_id>/delete-tasks", "delete_tasks", MANAGERS, summary="Delete the tasks of an id list"),
    _r("DELETE", "/actions/projects/<project_id>/task-types/<task_type_id>/delete-tasks", "delete_tasks_for_type", MANAGERS, 204, "Delete every task of a type in a project"),
    *[_r("POST", f"/actions/projects/<project_id>/task-types/<task_type_id>/{k}/create-tasks", "create_tasks",
         STAFF if k == "concepts" else MANAGERS, 201, f"Create tasks for {k}", kind=k)
      for k in ("assets", "shots", "edits", "concepts")],
    _r("POST", "/actions/projects/<project_id>/task-types/<task_type_id>/create-tasks/<entity_type>", "create_tasks",
       MANAGERS, 201, "Create tasks for the entities of a type", kind="entity"),
    _r("PUT", "/actions/persons/<person_id>/assign", "assign_tasks", SUPERVISORS, summary="Assign tasks to a person", body=OBJ),
    _r("PUT", "/actions/tasks/<task_id>/assign", "assign_task", SUPERVISORS, summary="Assign a task to a person", body=OBJ),
    _r("PUT", "/actions/tasks/clear-assignation", "clear_assignation", SUPERVISORS, summary="Unassign tasks (all or one person)", body=OBJ),
    _r("PUT", "/actions/tasks/set-priority", "set_tasks_priority", SUPERVISORS, summary="Set the priority of tasks", body=OBJ),
    # ---- per entity
    *[_r("GET", f"/data/{k}s/<{k}_id>/tasks", "entity_tasks", summary=f"Tasks of a {k}") for k in _ENTITY_KINDS],
    *[_r("GET", f"/data/{k}s/<{k}_id>/task-types", "entity_task_types", summary=f"Task types used by a {k}'s tasks")
      for k in _ENTITY_KINDS],
    _r("GET", "/data/sequences/<sequence_id>/shot-tasks", "entity_tasks", summary="Tasks of a sequence's shots", scope="children"),
    _r("GET", "/data/episodes/<episode_id>/shot-tasks", "entity_tasks", summary="Tasks of an episode's shots", scope="grandchildren"),
    _r("GET", "/data/episodes/<episode_id>/asset-tasks", "entity_tasks", summary="Tasks of an episode's assets", scope="children", kind="assets"),
    _r("GET", "/data/episodes/<episode_id>/edit-tasks", "entity_tasks", summary="Tasks of an episode's edits", scope="children"),
    *[_r("GET", f"/data/user/{k}s/<{k}_id>/tasks", "entity_tasks", summary=f"The caller's tasks of a {k}", mine=True)
      for k in ("asset", "shot", "sequence", "scene")],
    *[_r("GET", f"/data/user/{k}s/<{k}_id>/task-types", "entity_task_types", summary=f"Task types of the caller's tasks of a {k}", mine=True)
      for k in ("asset", "shot", "sequence", "scene")],
    # ---- user and person lists
    _r("GET", "/data/user/tasks", "user_tasks", summary="The caller's open tasks"),
    _r("GET", "/data/user/done-tasks", "user_done_tasks", summary="The caller's done tasks"),
    _r("GET", "/data/user/tasks-to-check", "user_tasks_to_check", summary="Tasks waiting for the caller's feedback"),
    _r("GET", "/data/persons/<person_id>/tasks", "person_tasks", summary="A person's open tasks"),
    _r("GET", "/data/persons/<person_id>/done-tasks", "person_tasks", summary="A person's done tasks", done=True),
    _r("GET", "/data/persons/task-dates", "persons_task_dates", SUPERVISORS, summary="First start and last due dates per person"),
    # ---- comments
    Route("POST", "/actions/tasks/<task_id>/comment", T, "comment_task", ANY, status=201, body=OBJ,
          handler="media:comment_with_files",
          summary="Comment a task, maybe changing its status (JSON, or multipart with attachment files)"),
    _r("POST", "/actions/projects/<project_id>/tasks/comment-many", "comment_many", ANY, 201, "Comment several tasks"),
    _r("POST", "/actions/tasks/batch-comment", "batch_comment", ANY, 201, "Comment several tasks"),
    _r("POST", "/actions/tasks/<task_id>/batch-comment", "batch_comment", ANY, 201, "Several comments on a task"),
    _r("GET", "/data/tasks/<task_id>/comments", "task_comments", summary="A task's comments, newest first"),
    _r("GET", "/data/tasks/<task_id>/comments/<comment_id>", "task_comment", summary="A task's comment"),
    _r("DELETE", "/data/tasks/<task_id>/comments/<comment_id>", "delete_comment", ANY, 204, "Delete a comment"),
    _r("POST", "/data/tasks/<task_id>/comments/<comment_id>/ack", "ack_comment", summary="Toggle the caller's acknowledgement"),
    _r("POST", "/data/tasks/<task_id>/comments/<comment_id>/reply", "reply_comment", summary="Reply to a comment", body=OBJ),
    _r("DELETE", "/data/tasks/<task_id>/comments/<comment_id>/reply/<reply_id>", "delete_reply", summary="Delete a reply"),
    _r("GET", "/data/projects/<project_id>/comments", "project_comments", MANAGERS, summary="Comments of a project"),
    Route("POST", "/actions/tasks/<task_id>/comments/<comment_id>/add-attachment", T, "add_attachments", ANY,
          status=201, handler="media:upload_attachments",
          summary="Attach files to a comment (multipart: every file part is streamed to storage)"),
    Route("GET", "/data/attachment-files/<attachment_file_id>/file/<file_name>", T, "attachment_download", ANY,
          handler="media:serve_attachment", summary="The bytes of a comment attachment (download, nosniff)"),
    _r("DELETE", "/data/tasks/<task_id>/comments/<comment_id>/attachments/<attachment_file_id>", "delete_attachment",
       ANY, 204, "Remove an attachment"),
    _r("GET", "/data/tasks/<task_id>/attachment-files", "task_attachment_files", summary="A task's attachments"),
    _r("GET", "/data/projects/<project_id>/attachment-files", "project_attachment_files", ADMIN, summary="A project's attachments"),
    # ---- time spents
    _r("POST", "/actions/tasks/<task_id>/time-spents/<date>/persons/<person_id>", "set_time_spent", STAFF, 201,
       "Set the time a person spent on a task that day", OBJ),
    _r("POST", "/actions/tasks/<task_id>/time-spents/<date>/persons/<person_id>/add", "add_time_spent", STAFF, 201,
       "Add time to a person's day on a task", OBJ),
    _r("DELETE", "/actions/tasks/<task_id>/time-spents/<date>/persons/<person_id>", "delete_time_spent", STAFF, 204,
       "Remove a person's time on a task that day"),
    _r("GET", "/actions/tasks/<task_id>/time-spents", "task_time_spents", summary="Time spent on a task"),
    _r("GET", "/actions/tasks/<task_id>/time-spents/<date>", "task_time_spents", summary="Time spent on a task that day"),
    _r("GET", "/data/user/time-spents", "person_time_spents", summary="The caller's time spents"),
    _r("GET", "/data/user/time-spents/<date>", "person_time_spents", summary="The caller's time spents that day"),
    _r("GET", "/data/user/tasks/<task_id>/time-spents/<date>", "user_task_time_spents", summary="The caller's time on a task that day"),
    _r("GET", "/data/persons/<person_id>/time-spents", "person_time_spents", summary="A person's time spents"),
    _r("GET", "/data/persons/<person_id>/time-spents/<date>", "person_time_spents", summary="A person's time spents that day"),
    _r("GET", "/data/persons/<person_id>/time-spents/day/<year>/<month>/<day>", "person_period_time_spents", summary="A person's day"),
    _r("GET", "/data/persons/<person_id>/time-spents/week/<year>/<week>", "person_period_time_spents", summary="A person's week"),
    _r("GET", "/data/persons/<person_id>/time-spents/month/<year>/<month>", "person_period_time_spents", summary="A person's month"),
    _r("GET", "/data/persons/<person_id>/time-spents/month/all/<year>/<month>", "person_period_time_spents",
       summary="A person's month, every row", all_rows=True),
    _r("GET", "/data/persons/<person_id>/time-spents/year/<year>", "person_period_time_spents", summary="A person's year"),
    _r("GET", "/data/persons/time-spents/day-table/<year>/<month>", "day_table", STAFF, summary="Time per person and day"),
    _r("GET", "/data/persons/time-spents/week-table/<year>", "week_table", STAFF, summary="Time per person and week"),
    _r("GET", "/data/persons/time-spents/month-table/<year>", "month_table", STAFF, summary="Time per person and month"),
    _r("GET", "/data/persons/time-spents/year-table", "year_table", STAFF, summary="Time per person and year"),
    _r("GET", "/data/entities/<entity_id>/time-spents", "entity_time_spents", summary="Time spent on an entity's tasks"),
    _r("GET", "/data/projects/<project_id>/time-spents", "project_time_spents", SUPERVISORS, summary="A project's time spents"),
    _r("GET", "/data/projects/<project_id>/task-types/<task_type_id>/time-spents", "project_time_spents", SUPERVISORS,
       summary="A project's time spents for a task type"),
    _r("GET", "/data/projects/<project_id>/budgets/time-spents", "project_time_spents", MANAGERS,
       summary="A project's time per person and month", by_month=True),
    # ---- quotas
    _r("GET", "/data/persons/<person_id>/quota-shots/day/<year>/<month>/<day>", "person_quotas", summary="Shots a person ended that day"),
    _r("GET", "/data/persons/<person_id>/quota-shots/week/<year>/<week>", "person_quotas", summary="Shots a person ended that week"),
    _r("GET", "/data/persons/<person_id>/quota-shots/month/<year>/<month>", "person_quotas", summary="Shots a person ended that month"),
    _r("GET", "/data/projects/<project_id>/quotas/<task_type_id>", "project_quotas", STAFF, summary="Quotas of a project and task type"),
    _r("GET", "/data/projects/<project_id>/quotas/persons/<person_id>", "project_quotas", STAFF, summary="Quotas of a person in a project"),
    # ---- schedule, milestones, budgets
    _r("GET", "/data/projects/<project_id>/schedule-items", "project_schedule_items", summary="A project's schedule items"),
    _r("GET", "/data/projects/<project_id>/schedule-items/task-types", "project_schedule_items", summary="Task type schedule items", kind="task-types"),
    *[_r("GET", f"/data/projects/<project_id>/schedule-items/<task_type_id>/{k}", "project_schedule_items",
         summary=f"Schedule items of {k} for a task type", kind=k) for k in ("asset-types", "episodes", "sequences", "edits")],
    _r("GET", "/data/projects/<project_id>/milestones", "project_milestones", summary="A project's milestones"),
    _r("GET", "/data/projects/<project_id>/budgets", "project_budgets", MANAGERS, summary="A project's budgets"),
    _r("POST", "/data/projects/<project_id>/budgets", "create_project_budget", MANAGERS, 201, "Create a budget", OBJ),
    _r("GET", "/data/projects/<project_id>/budgets/<budget_id>", "get_project_budget", MANAGERS, summary="A budget"),
    _r("PUT", "/data/projects/<project_id>/budgets/<budget_id>", "update_project_budget", MANAGERS, summary="Update a budget", body=OBJ),
    _r("DELETE", "/data/projects/<project_id>/budgets/<budget_id>", "delete_project_budget", MANAGERS, 204, "Delete a budget"),
    _r("GET", "/data/projects/<project_id>/budgets/<budget_id>/entries", "budget_entries", MANAGERS, summary="A budget's entries"),
    _r("POST", "/data/projects/<project_id>/budgets/<budget_id>/entries", "create_budget_entry", MANAGERS, 201, "Create a budget entry", OBJ),
    _r("GET", "/data/projects/<project_id>/budgets/<budget_id>/entries/<entry_id>", "get_budget_entry", MANAGERS, summary="A budget entry"),
    _r("PUT", "/data/projects/<project_id>/budgets/<budget_id>/entries/<entry_id>", "update_budget_entry", MANAGERS, summary="Update a budget entry", body=OBJ),
    _r("DELETE", "/data/projects/<project_id>/budgets/<budget_id>/entries/<entry_id>", "delete_budget_entry", MANAGERS, 204, "Delete a budget entry"),
    _r("GET", "/data/production-schedule-versions/<production_schedule_version_id>/task-links", "psv_task_links",
       summary="Task links of a production schedule version"),
    _r("POST", "/actions/production-schedule-versions/<production_schedule_version_id>/set-task-links-from-production",
       "psv_links_from_production", MANAGERS, summary="Copy task dates into a schedule version"),
    _r("POST", "/actions/production-schedule-versions/<production_schedule_version_id>/set-task-links-from-production-schedule-version",
       "psv_links_from_psv", MANAGERS, summary="Copy task links from another schedule version", body=OBJ),
    _r("POST", "/actions/production-schedule-versions/<production_schedule_version_id>/apply-to-production",
       "psv_apply", MANAGERS, summary="Write a schedule version's dates onto the tasks"),
]

NOT_SERVED = {
    ("POST", "/actions/tasks/<task_id>/comments/<comment_id>/move"): "Not yet: moving a comment to a sibling task.",
    ("POST", "/actions/projects/<project_id>/tasks/copy-client-comments"): "Not yet: copying client comments.",
    ("GET", "/data/tasks/open-tasks/burndown"): "Not yet: burndown aggregates.",
    ("GET", "/data/projects/<project_id>/episodes/stats"): "Not yet: episode stats.",
    ("GET", "/data/projects/<project_id>/episodes/retake-stats"): "Not yet: episode retake stats.",
    ("GET", "/data/persons/<person_id>/related-tasks/<task_type_id>"): "Not yet: related tasks of a person.",
    ("GET", "/data/user/tasks-to-check/filter-values"): "Not yet: filter values of the to-check page.",
    ("PUT", "/actions/tasks/<task_id>/to-review"): "Removed in Zou 1.0.97 (post a comment with a feedback-request status; task:to-review is still emitted).",
}


# A retried POST with the same Idempotency-Key header returns the first answer
# (the gateway passes the header to these RPCs as ``idempotency_key``).
_IDEMPOTENT = {"comment_task", "reply_comment"}
ROUTES = [_replace(r, idempotent=True) if r.rpc in _IDEMPOTENT and r.method == "POST" else r for r in ROUTES]
