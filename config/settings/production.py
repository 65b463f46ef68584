"""Production profile: the base settings plus what `check --deploy` asks for."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASE_URL, REDIS_URL, env_bool

DEBUG = False
# Documents are signed with the agency's own key (DOCUMENTS_SIGNING_PKCS11_* or _PKCS12): never the demo CA, unless
# asked for explicitly.
DOCUMENTS_SIGNING_DEMO = env_bool("DOCUMENTS_SIGNING_DEMO", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to at least 50 random characters.")
if not DATABASE_URL or not REDIS_URL:
    raise ImproperlyConfigured("Production needs DATABASE_URL (PostgreSQL) and REDIS_URL.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The reverse proxy in front appends the client's address to X-Forwarded-For: throttles (API rates, failed
# sign-ins) count per client, not per proxy.
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES", "1"))}  # noqa: F405
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
