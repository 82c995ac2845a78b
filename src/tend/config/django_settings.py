"""Django settings, derived from the one validated `TendSettings` object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from tend.config.settings import get_settings

TEND = get_settings()
DATA_DIR = TEND.resolved_data_dir
DATA_DIR.mkdir(parents=True, exist_ok=True)
BASE_DIR = Path(__file__).resolve().parent.parent
FRONTEND_DIR = BASE_DIR.parent.parent / "node_modules"

SECRET_KEY = TEND.effective_secret_key()
DEBUG = TEND.debug
ALLOWED_HOSTS = [*TEND.allowed_hosts, "testserver"] if TEND.env == "test" else TEND.allowed_hosts
CSRF_TRUSTED_ORIGINS = TEND.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "tend.core",
    "tend.customers",
    "tend.billing",
    "tend.usage",
    "tend.support",
    "tend.surveys",
    "tend.metrics",
    "tend.health",
    "tend.playbooks",
    "tend.web",
    "tend.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tend.config.urls"
ASGI_APPLICATION = "tend.config.asgi.application"
WSGI_APPLICATION = "tend.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]


def _database() -> dict[str, Any]:
    if TEND.database_url:
        config: dict[str, Any] = dict(dj_database_url.parse(TEND.database_url, conn_max_age=60))
        if config["ENGINE"].endswith("postgresql"):
            config["TEST"] = {"NAME": f"test_tend_{config['NAME']}"}
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(TEND.sqlite_path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000; "
                "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
            ),
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = TEND.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [
    ("vendor/htmx", FRONTEND_DIR / "htmx.org" / "dist"),
    ("vendor/chartjs", FRONTEND_DIR / "chart.js" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.is_dir()]
WHITENOISE_USE_FINDERS = True

if TEND.email_backend == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_HOST = TEND.email_host
EMAIL_PORT = TEND.email_port
EMAIL_HOST_USER = TEND.email_host_user
EMAIL_HOST_PASSWORD = TEND.email_host_password.get_secret_value()
EMAIL_USE_TLS = TEND.email_use_tls
DEFAULT_FROM_EMAIL = TEND.default_from_email

if TEND.redis_url:
    HUEY: dict[str, Any] = {
        "huey_class": "huey.RedisHuey",
        "name": "tend",
        "url": TEND.redis_url,
        "immediate": False,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tend",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": TEND.env == "test",
    }
HUEY["consumer"] = {"workers": TEND.worker_threads, "worker_type": "thread"}

if TEND.env == "production":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"huey": {"level": "WARNING"}},
}
