"""Django settings for the test suite: the real ones, with TEND_ENV=test and a scratch data dir."""

import os
import tempfile

os.environ.setdefault("TEND_ENV", "test")
os.environ.setdefault("TEND_DATA_DIR", tempfile.mkdtemp(prefix="tend-test-"))

from tend.config.django_settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
