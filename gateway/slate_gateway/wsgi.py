"""gunicorn entry point: ``gunicorn -c gateway/gunicorn.conf.py slate_gateway.wsgi:app``."""

from .app import create_app

app = create_app()
