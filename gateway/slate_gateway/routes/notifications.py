"""Routes owned by the notifications service: notifications, news,
subscriptions and chats."""

from . import ADMIN, ANY, MANAGERS, Route, crud

ROUTES = [
    Route("GET", "/data/user/notifications", "notifications", "user_notifications", ANY, summary="The caller's last 100 notifications (after, before, task_type_id, task_status_id, type, read, watching)"),
    Route("GET", "/data/user/notifications/<notification_id>", "notifications", "user_notification", ANY, summary="One of the caller's notifications"),
    Route("PUT", "/data/user/notifications/<notification_id>", "notifications", "update_user_notification", ANY, summary="Mark a notification read or unread", body="object"),
    Route("POST", "/actions/user/notifications/mark-all-as-read", "notifications", "mark_all_as_read", ANY, summary="Mark all the caller's notifications read"),
    Route("GET", "/data/projects/<project_id>/notifications", "notifications", "project_notifications", MANAGERS, summary="Notifications of a project (managers)"),
    Route("GET", "/data/projects/news", "notifications", "all_projects_news", ANY, summary="News of the caller's projects"),
    Route("GET", "/data/projects/<project_id>/news", "notifications", "project_news", ANY, summary="News feed of a project (paged, filters)"),
    Route("GET", "/data/projects/<project_id>/news/<news_id>", "notifications", "project_news_item", ANY, summary="One news of a project"),
    Route("GET", "/data/entities/<entity_id>/news", "notifications", "entity_news", ANY, summary="News of an entity"),
    Route("GET", "/data/user/tasks/<task_id>/subscribed", "notifications", "task_subscribed", ANY, summary="Whether the caller follows a task"),
    Route("POST", "/actions/user/tasks/<task_id>/subscribe", "notifications", "subscribe_task", ANY, status=201, summary="Follow a task"),
    Route("DELETE", "/actions/user/tasks/<task_id>/unsubscribe", "notifications", "unsubscribe_task", ANY, status=204, summary="Stop following a task"),
    Route("POST", "/actions/user/tasks/subscribe", "notifications", "subscribe_tasks", ANY, status=201, summary="Follow several tasks", body="object"),
    Route("POST", "/actions/user/tasks/unsubscribe", "notifications", "unsubscribe_tasks", ANY, summary="Stop following several tasks", body="object"),
    Route("GET", "/data/user/sequences/<sequence_id>/task-types/<task_type_id>/subscribed", "notifications", "sequence_subscribed", ANY, summary="Whether the caller follows a sequence for a task type"),
    Route("GET", "/data/user/entities/<sequence_id>/task-types/<task_type_id>/subscribed", "notifications", "sequence_subscribed", ANY, summary="Whether the caller follows a sequence for a task type"),
    Route("POST", "/actions/user/sequences/<sequence_id>/task-types/<task_type_id>/subscribe", "notifications", "subscribe_sequence", ANY, status=201, summary="Follow a sequence for a task type"),
    Route("DELETE", "/actions/user/sequences/<sequence_id>/task-types/<task_type_id>/unsubscribe", "notifications", "unsubscribe_sequence", ANY, status=204, summary="Stop following a sequence for a task type"),
    Route("GET", "/data/user/projects/<project_id>/task-types/<task_type_id>/sequence-subscriptions", "notifications", "sequence_subscriptions", ANY, summary="Sequences the caller follows in a project for a task type"),
    Route("GET", "/data/projects/<project_id>/subscriptions", "notifications", "project_subscriptions", MANAGERS, summary="Task subscriptions of a project (managers)"),
    Route("GET", "/data/user/chats", "notifications", "user_chats", ANY, summary="Chats the caller joined (open projects)"),
    Route("POST", "/actions/user/chats/<entity_id>/join", "notifications", "join_chat", ANY, summary="Join an entity's chat"),
    Route("DELETE", "/actions/user/chats/<entity_id>/join", "notifications", "leave_chat", ANY, status=204, summary="Leave an entity's chat"),
    Route("GET", "/data/entities/<entity_id>/chat", "notifications", "entity_chat", ANY, summary="An entity's chat with its participants"),
    Route("GET", "/data/entities/<entity_id>/chat/messages", "notifications", "chat_messages", ANY, summary="Messages of an entity's chat"),
    Route("POST", "/data/entities/<entity_id>/chat/messages", "notifications", "create_chat_message", ANY, status=201, summary="Post a chat message (attachments: names and storage keys)"),
    Route("GET", "/data/entities/<entity_id>/chat/messages/<chat_message_id>", "notifications", "chat_message", ANY, summary="A chat message"),
    Route("DELETE", "/data/entities/<entity_id>/chat/messages/<chat_message_id>", "notifications", "delete_chat_message", ANY, status=204, summary="Delete one's chat message"),
    *crud("notifications", "notifications", read=ADMIN, write=ADMIN, name="notification"),
    *crud("news", "notifications", read=ADMIN, write=ADMIN, name="news"),
    *crud("subscriptions", "notifications", read=ADMIN, write=ADMIN, name="subscription"),
    *crud("chats", "notifications", read=ADMIN, write=ADMIN, name="chat"),
    *crud("chat-messages", "notifications", read=ADMIN, write=ADMIN, name="chat message"),
]

NOT_SERVED: dict = {}
