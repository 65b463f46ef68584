"""Bench-only Celery task, loaded by the benchmark's workers with `--include bench.tasks`."""

import redis
from celery import shared_task
from django.conf import settings

_redis = None


@shared_task(name="bench.noop")
def noop() -> None:
    """Does nothing but count itself, so that the benchmark knows when all have run."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    _redis.incr("bench:noop:done")
