"""ASGI entry point used by `tend serve`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
application = get_asgi_application()
