"""python -m bench.batches [--applications 500]

Where a worker's time goes in the batched task names: receives N applications with the after-commit wake-ups
held, then runs each name's batches in this process and prints, per name, the rows done, the time, and the
number and time of SQL queries (Django's query log). Not part of `make bench`'s summary: it explains the task
pipeline's figure.
"""

import argparse
import os
import random
import time

os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", "bench-batches")

from bench._setup import django_setup  # noqa: E402

NAMES = ("cases.case_intake", "reports.case_refresh", "licensing.notification_send")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=500)
    args = parser.parse_args()
    django_setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from django.utils import timezone

    import worker.outbox
    from demo.year import _fields
    from licensing.procedures import PROCEDURES
    from licensing.services import application_receive

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    waiting = {name: worker.outbox.outbox_batch_run(name) for name in NAMES}  # left by an earlier run
    worker.outbox.outbox_dispatch = lambda **kwargs: None  # this process runs the batches itself
    officer = User.objects.get(username="bench_officer")
    rng = random.Random(3)
    codes = list(PROCEDURES)
    for n in range(args.applications):
        code = rng.choice(codes)
        organisation, fields = _fields(code, n, timezone.now(), rng)
        application_receive(actor=officer, procedure=code, fields=fields, organisation=organisation)
    print(f"{args.applications} applications received (rows left by an earlier run, done first: {waiting}); "
          f"batches of {settings.OUTBOX_BATCH_SIZE}")
    settings.DEBUG = True
    for name in NAMES:
        reset_queries()
        started = time.perf_counter()
        done = worker.outbox.outbox_batch_run(name)
        elapsed = time.perf_counter() - started
        queries = connection.queries
        print(f"  {name}: {done} rows in {elapsed * 1000:.0f} ms ({elapsed * 1000 / max(done, 1):.2f} ms/row), "
              f"{len(queries)} queries, {sum(float(q['time']) for q in queries) * 1000:.0f} ms in SQL")


if __name__ == "__main__":
    main()
