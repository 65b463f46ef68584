import pytest

from cases.models import Case
from worker.models import OutboxMessage

from .conftest import wait_for
from .factories import case_make


@pytest.mark.django_db(transaction=True)
def test_worker_assigns_a_received_case_to_the_least_loaded_officer(celery_worker, officer, officer2, head):
    busy = case_make(actor=officer)  # officer gets the first case
    wait_for(lambda: Case.objects.get(pk=busy.pk).intake_completed_at, message="first intake")
    case = case_make(actor=officer, subject_name="Cơ sở in Minh Phát")
    wait_for(lambda: Case.objects.get(pk=case.pk).intake_completed_at, message="second intake")
    first, second = Case.objects.get(pk=busy.pk), Case.objects.get(pk=case.pk)
    assert {first.assignee_id, second.assignee_id} == {officer.pk, officer2.pk}
    assert second.events.filter(kind="intake").count() == 1
    # Every row queued on the way (intake, the figures' refreshes after the dossier's file) is run by the worker.
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), message="the outbox to empty")


# --- Documents have a queue of their own ----------------------------------------------------------------------


DOCUMENT_TASKS = ("licensing.document_sign", "inspections.document_sign", "reports.report_sign",
                  "applicants.refusal_slip_issue")


def test_rendering_and_signing_go_to_the_documents_queue_and_everything_else_to_the_default_one(settings):
    """A burst of signatures (seconds each) must not hold back an intake or an e-mail: they are routed apart."""
    from worker.celery import app

    queue_of = {name: app.amqp.router.route({}, name)["queue"].name
                for name in [*DOCUMENT_TASKS, "cases.case_intake", "licensing.notification_send",
                             "licensing.receipt_issue", "worker.outbox_recovery_sweep", "worker.outbox_batch_run"]}
    assert {queue_of[name] for name in DOCUMENT_TASKS} == {settings.CELERY_DOCUMENTS_QUEUE}
    assert {queue for name, queue in queue_of.items() if name not in DOCUMENT_TASKS} == {
        settings.CELERY_TASK_DEFAULT_QUEUE}
    assert settings.CELERY_DOCUMENTS_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_receipts_run_is_woken_on_the_documents_queue_and_an_intake_run_on_the_default_one(settings):
    """The receipts of a burst of applications are rendered 250 to a run (seconds): their runs' wake-ups wait on
    the documents queue, so an intake's never waits behind them (OUTBOX_DOCUMENTS_BATCHED)."""
    import json

    from worker.outbox import _wake_key, outbox_wake

    from .conftest import _redis

    client = _redis()
    queues = (settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_DOCUMENTS_QUEUE)
    names = ("licensing.receipt_issue", "cases.case_intake")
    client.delete(*queues, *(_wake_key(name) for name in names))
    try:
        for name in names:
            assert outbox_wake(name) is None
        woken = {queue: [json.loads(raw)["headers"] for raw in client.lrange(queue, 0, -1)] for queue in queues}
        assert {queue: [(h["task"], h["kwargsrepr"]) for h in headers] for queue, headers in woken.items()} == {
            settings.CELERY_DOCUMENTS_QUEUE: [("worker.outbox_batch_run", "{'task_name': 'licensing.receipt_issue'}")],
            settings.CELERY_TASK_DEFAULT_QUEUE: [("worker.outbox_batch_run", "{'task_name': 'cases.case_intake'}")]}
    finally:
        client.delete(*queues, *(_wake_key(name) for name in names))


def test_a_worker_started_without_queues_named_takes_both(tmp_path, settings):
    """The README's `celery -A worker.celery worker` (no -Q) consumes the default queue and the documents queue."""
    import os
    import subprocess
    import sys
    import uuid

    from worker.celery import app

    from .conftest import ROOT, process_end

    name = f"noq-{uuid.uuid4().hex[:8]}@localhost"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "REDIS_URL": settings.REDIS_URL,
           "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE}
    with open(tmp_path / "worker.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker.celery", "worker", "--pool=solo",
                                    "--without-gossip", "--without-mingle", "-n", name],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        queues = wait_for(lambda: process.poll() is None and app.control.inspect([name], timeout=0.5).active_queues(),
                          timeout=60, message="the worker to list its queues")
        assert {queue["name"] for queue in queues[name]} == {settings.CELERY_TASK_DEFAULT_QUEUE,
                                                             settings.CELERY_DOCUMENTS_QUEUE}
    finally:
        process_end(process)


def test_every_task_name_the_outbox_may_hold_is_registered_in_the_web_process():
    """The embedded mode runs outbox tasks in process from app.tasks: a task module not imported by its app's
    ready() would leave its rows undone for ever there (it happened to the refusal slip). Checked in a fresh
    process as `manage.py runserver` starts one (this one has imported every tasks module through the tests): the
    tasks registered once Django is set up, then again after importing every app's tasks module; nothing new."""
    import json
    import subprocess
    import sys

    from .conftest import ROOT
    from .support_demo import CLEAN_ENV

    script = (
        "import importlib, json, django\n"
        "django.setup()\n"
        "from django.apps import apps\n"
        "from worker.celery import app\n"
        "before = sorted(app.tasks)\n"
        "for config in apps.get_app_configs():\n"
        "    try:\n"
        "        importlib.import_module(config.name + '.tasks')\n"
        "    except ModuleNotFoundError as error:\n"
        "        if error.name != config.name + '.tasks':\n"
        "            raise\n"
        "print(json.dumps({'before': before, 'after': sorted(app.tasks)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**CLEAN_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
                          capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = set(found["before"]), set(found["after"])
    ours = {name for name in after if not name.startswith("celery.")}
    assert {"applicants.refusal_slip_issue", "licensing.document_sign", "inspections.document_sign",
            "reports.report_sign", "worker.outbox_recovery_sweep"} <= ours, sorted(ours)
    assert after == before, sorted(after - before)
