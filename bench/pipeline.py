"""python -m bench.pipeline [--applications 10000]

The task pipeline: N licensing applications received through the product's service, and everything their receipt
put in the outbox (the intake: due date already set at receipt, assignment to the least-loaded officer, the
dossier check; the refresh of the quarter's figures; the receipt email) drained by 2 Celery worker processes,
against N no-op tasks drained by the same workers, in the same run. Intake, refresh and email are batched task
names (worker/outbox.py): the web side wakes each one, and a worker runs the waiting rows a batch at a time.
Messages are queued while the workers consume another queue; the clock starts when both are told to consume the
benchmark queue and stops when it is empty, nothing is unacknowledged and every outbox row of the run is done.
Target: applications per second ≥ 0.5 × no-op tasks per second.
"""

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

os.environ["CELERY_TASK_DEFAULT_QUEUE"] = "bench-pipeline"

from bench._setup import django_setup, summary  # noqa: E402

QUEUE = "bench-pipeline"
IDLE = "bench-idle"
ROOT = Path(__file__).resolve().parent.parent


def workers_start(count: int, log_dir: Path) -> list[subprocess.Popen]:
    processes = []
    for n in range(count):
        log = open(log_dir / f"worker{n + 1}.log", "w")  # noqa: SIM115 (kept open for the process)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery", "worker", "--pool=prefork", "--concurrency=1",
             f"--loglevel={os.environ.get('BENCH_WORKER_LOGLEVEL', 'WARNING')}", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench{n + 1}@localhost", "-Q", IDLE, "--include", "bench.tasks"],
            cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
            stdout=log, stderr=subprocess.STDOUT))
    return processes


def drain(app, client, names: list[str], done) -> float:
    """Point the workers at the queue and time until it is empty, nothing is unacknowledged and done() holds."""
    started = time.perf_counter()
    app.control.add_consumer(QUEUE, destination=names, reply=True, timeout=5)
    quiet = 0
    while quiet < 3:
        time.sleep(0.05)
        idle = client.llen(QUEUE) == 0 and client.hlen("unacked") == 0
        quiet = quiet + 1 if idle and done() else 0
    elapsed = time.perf_counter() - started - 0.1  # the two confirming polls
    app.control.cancel_consumer(QUEUE, destination=names, reply=True, timeout=5)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    django_setup()
    import tempfile

    import redis
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.utils import timezone

    from cases.models import Case
    from demo.year import _fields
    from licensing.procedures import PROCEDURES
    from licensing.services import application_receive
    from worker.celery import app
    from worker.models import OutboxMessage

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(QUEUE, settings.CELERY_DOCUMENTS_QUEUE, "unacked", "unacked_index", "bench:noop:done")
    officer = User.objects.get(username="bench_officer")
    names = [f"bench{n + 1}@localhost" for n in range(args.workers)]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    processes = workers_start(args.workers, log_dir)
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(destination=names, timeout=1)) < args.workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"workers did not start; see {log_dir}")

        # The web side: applications received through the service, their tasks queued through the outbox.
        rng = random.Random(7)
        codes = list(PROCEDURES)
        first_id = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        run_started = timezone.now()
        started = time.perf_counter()
        for n in range(args.applications):
            code = rng.choice(codes)
            organisation, fields = _fields(code, n, timezone.now(), rng)
            application_receive(actor=officer, procedure=code, fields=fields, organisation=organisation)
        received = time.perf_counter() - started
        new = Case.objects.filter(pk__gte=first_id)
        # The receipts (rendered, then signed) go to the documents queue, which these workers do not consume:
        # documents are measured by bench.signed_results and bench.pdf_render. Everything else is timed here.
        signing = [*settings.OUTBOX_DOCUMENTS_BATCHED,
                   *(name for name, route in settings.CELERY_TASK_ROUTES.items()
                     if route.get("queue") == settings.CELERY_DOCUMENTS_QUEUE)]
        ours = OutboxMessage.objects.filter(created_at__gte=run_started).exclude(task_name__in=signing)
        rows = ours.count()
        messages = client.llen(QUEUE)
        print(f"  received {args.applications:,} applications through the service in {received:.1f} s "
              f"({args.applications / received:.0f}/s); {rows:,} outbox rows, {messages:,} messages queued")

        intake_time = drain(app, client, names,
                            lambda: not new.filter(intake_completed_at__isnull=True).exists()
                            and not ours.filter(done_at__isnull=True).exists())
        assigned = new.filter(assignee__isnull=False, intake_completed_at__isnull=False).count()
        undone = ours.filter(done_at__isnull=True).count()
        intake_rate = args.applications / intake_time

        for _ in range(args.applications):
            app.send_task("bench.noop", queue=QUEUE)
        noop_time = drain(app, client, names, lambda: int(client.get("bench:noop:done") or 0) >= args.applications)
        noop_rate = args.applications / noop_time
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        # The documents' rows of the run are left undone on purpose; marked so that a later benchmark's workers
        # (their start wakes whatever waits) do not take them up and skew their own figures.
        left = OutboxMessage.objects.filter(created_at__gte=run_started, task_name__in=signing, done_at__isnull=True) \
            .update(done_at=timezone.now(), last_error="bench.pipeline: documents not made (see bench.signed_results)")
        client.delete(settings.CELERY_DOCUMENTS_QUEUE)
        print(f"  {left:,} receipts left to the documents queue (not made here: bench.signed_results)")

    ratio = intake_rate / noop_rate
    print(f"task pipeline, {args.workers} workers: {args.applications:,} intakes in {intake_time:.1f} s "
          f"({intake_rate:.0f} applications/s, {rows / intake_time:.0f} outbox rows/s; {assigned:,} assigned, "
          f"{undone} outbox messages left undone); {args.applications:,} no-op tasks in {noop_time:.1f} s "
          f"({noop_rate:.0f}/s)")
    summary("task pipeline (intakes / no-op tasks per s)", f"{ratio:.2f}", "≥ 0.50",
            ratio >= 0.5 and assigned == args.applications and undone == 0)


if __name__ == "__main__":
    main()
