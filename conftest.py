"""Root conftest: nameko needs eventlet's monkey patching before anything else
imports sockets or psycopg2, or tests hang."""

import eventlet

eventlet.monkey_patch()

pytest_plugins = ["slatekit.testing"]
