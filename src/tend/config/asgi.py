"""ASGI entry point used by `tend serve`: the event API's lean path in front of Django, and
the inbox loader running in the background of the serving process."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
django_application = get_asgi_application()

from tend.usage.asgi_ingest import IngestApplication  # noqa: E402  (needs Django set up)
from tend.usage.loader import start_background_loader  # noqa: E402

application = IngestApplication(django_application)
start_background_loader()
