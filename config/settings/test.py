"""Tests run on PostgreSQL and Redis, as production does."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(os.environ.get("TEST_MEDIA_ROOT", "/tmp/sttt-test-media"))  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# One database and one Celery queue per test run, so that runs side by side never share state.
DATABASES["default"]["TEST"] = {"NAME": f"test_sttt_{os.getpid()}"}  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"test-{os.getpid()}"
CELERY_DOCUMENTS_QUEUE, CELERY_TASK_ROUTES, CELERY_TASK_QUEUES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,  # noqa: F405
                      "KEY_PREFIX": f"test-{os.getpid()}"}}
# The demo CA of tests that sign in demo mode: outside the home directory (shared by the test processes, which
# documents/demo_ca.py makes safe with its lock).
DOCUMENTS_DEMO_CA_DIR = os.environ.get("DOCUMENTS_DEMO_CA_DIR", "/tmp/sttt-test-demo-ca")
