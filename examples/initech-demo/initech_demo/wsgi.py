"""WSGI entry point: gunicorn initech_demo.wsgi:application.

Reads .env first to choose the settings module, then makes the database driver cooperative
when the worker is gevent's (see bootstrap.prepare_wsgi).
"""

from initech_demo import bootstrap

bootstrap.select_settings(bootstrap.read_env())
bootstrap.prepare_wsgi()

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the patching above)

application = get_wsgi_application()
