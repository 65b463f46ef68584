"""The embedded mode (`make run`: SQLite, no Redis) runs the periodic jobs too: the development server's serving
process runs the entries of CELERY_BEAT_SCHEDULE (same tasks, same intervals and crontabs) in a thread of its own
(worker/embedded.py), so overdue flags, the outbox sweep, the quarter's rollover and the nightly check keep the
figures current without celery beat."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings as django_settings

from worker.embedded import EmbeddedSchedule, embedded_schedule_wanted

from .conftest import process_group_end, wait_for

ROOT = Path(__file__).resolve().parent.parent
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "RUN_MAIN"}}
JOBS = {"outbox-recovery-sweep": "worker.outbox_recovery_sweep", "overdue-sweep": "cases.overdue_sweep",
        "report-quarter-rollover": "reports.quarter_rollover", "report-check": "reports.check"}


def test_the_schedule_runs_only_in_the_embedded_modes_serving_process(settings):
    assert set(django_settings.CELERY_BEAT_SCHEDULE) == set(JOBS)
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded mode
    assert embedded_schedule_wanted(["manage.py", "runserver", "--noreload"], {})
    assert embedded_schedule_wanted(["manage.py", "runserver", "127.0.0.1:8000"], {"RUN_MAIN": "true"})
    # The autoreloader's parent only watches the files; its child serves (and runs the schedule).
    assert not embedded_schedule_wanted(["manage.py", "runserver", "127.0.0.1:8000"], {})
    for argv in (["manage.py", "migrate"], ["manage.py", "load_demo"], ["manage.py", "shell"],
                 ["pytest", "-q"], ["gunicorn", "config.wsgi"], ["manage.py"]):
        assert not embedded_schedule_wanted(argv, {"RUN_MAIN": "true"}), argv
    settings.CELERY_TASK_ALWAYS_EAGER = False  # Redis and workers: celery beat runs them
    assert not embedded_schedule_wanted(["manage.py", "runserver", "--noreload"], {"RUN_MAIN": "true"})
    # Not in this test process.
    assert not [t for t in threading.enumerate() if isinstance(t, EmbeddedSchedule)]


def test_entries_fall_due_as_beat_would_and_a_restart_runs_what_was_missed_once(tmp_path):
    """Intervals and crontabs decided by Celery's own schedule classes; the last runs are kept in a file, so a
    server stopped over a quarter's first night runs the rollover once when it starts again."""
    from worker.celery import app

    ran: list[str] = []

    def record(_app, entry):
        ran.append(entry.name)
        return True, 1

    def tick(schedule, moment) -> list[str]:
        with time_machine.travel(moment, tick=False):
            ran.clear()
            schedule.tick()
            return sorted(ran)

    state = tmp_path / "db.sqlite3-schedule.json"
    schedule = EmbeddedSchedule(app, django_settings.CELERY_BEAT_SCHEDULE, state_path=state, run=record)
    assert tick(schedule, datetime(2020, 3, 31, 22, 50, tzinfo=HCM)) == sorted(JOBS)  # the first start: all once
    assert tick(schedule, datetime(2020, 3, 31, 22, 50, 30, tzinfo=HCM)) == []
    assert tick(schedule, datetime(2020, 3, 31, 22, 51, 1, tzinfo=HCM)) == ["outbox-recovery-sweep"]
    assert tick(schedule, datetime(2020, 3, 31, 23, 0, 1, tzinfo=HCM)) == ["outbox-recovery-sweep", "overdue-sweep"]

    # Stopped at 23:00 on 31 March, started again at 07:00 on 1 April: what fell due meanwhile runs at once, once.
    restarted = EmbeddedSchedule(app, django_settings.CELERY_BEAT_SCHEDULE, state_path=state, run=record)
    assert tick(restarted, datetime(2020, 4, 1, 7, 0, tzinfo=HCM)) == sorted(JOBS)
    assert tick(restarted, datetime(2020, 4, 1, 7, 0, 30, tzinfo=HCM)) == []
    assert tick(restarted, datetime(2020, 4, 1, 7, 15, 1, tzinfo=HCM)) == ["outbox-recovery-sweep", "overdue-sweep"]
    assert tick(restarted, datetime(2020, 4, 2, 1, 30, 1, tzinfo=HCM)) == sorted(JOBS.keys() - {
        "report-quarter-rollover"})

    # A job that fails is run again a minute later, not at every tick.
    failing = EmbeddedSchedule(app, {"overdue-sweep": django_settings.CELERY_BEAT_SCHEDULE["overdue-sweep"]},
                               run=lambda _app, entry: (ran.append(entry.name), (False, OSError("locked")))[1])
    assert tick(failing, datetime(2020, 4, 2, 9, 0, tzinfo=HCM)) == ["overdue-sweep"]
    assert tick(failing, datetime(2020, 4, 2, 9, 0, 1, tzinfo=HCM)) == []
    assert failing.retry_at


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SETTINGS_FAST = """
from config.settings.base import *  # noqa: F403

# The beat schedule's entries, each every second (the test cannot wait for crontabs).
CELERY_BEAT_SCHEDULE = {name: {**entry, "schedule": 1.0} for name, entry in CELERY_BEAT_SCHEDULE.items()}  # noqa: F405
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "worker.embedded": {"level": "DEBUG"}}}  # noqa: F405
"""

OVERDUE_CASE = """
import datetime, time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from demo.year import _fields
import random
from licensing.services import application_receive

officer, _ = get_user_model().objects.get_or_create(username="canbo{n}")
officer.groups.add(Group.objects.get(name="licensing_officer"))
from agencies.models import Agency, Membership
from cases.competence import agency_history_load_file
agency_history_load_file()  # what load_demo loads; adds nothing when it is there
for agency in Agency.objects.all():  # the officer works for the agency competent 40 days ago, whichever it is
    Membership.objects.get_or_create(user=officer, agency=agency)
received = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=40)
with time_machine.travel(received, tick=False):
    organisation, fields = _fields("bulletin", {n}, received, random.Random({n}))
    case, _ = application_receive(actor=officer, procedure="bulletin", fields=fields, organisation=organisation)
print("CASE-ID", case.pk, case.due_at.isoformat())
"""


def _flagged(db: Path) -> dict[int, bool]:
    with sqlite3.connect(db, timeout=20) as connection:
        return {pk: flagged is not None for pk, flagged in
                connection.execute("SELECT id, overdue_flagged_at FROM cases_case")}


def test_the_development_server_runs_every_job_and_an_overdue_case_is_flagged_without_anyone_asking(tmp_path):
    (tmp_path / "embedded_fast_settings.py").write_text(SETTINGS_FAST)
    db = tmp_path / "db.sqlite3"
    env = {**CLEAN_ENV, "DJANGO_SETTINGS_MODULE": "embedded_fast_settings", "PYTHONPATH": str(tmp_path),
           "SQLITE_PATH": str(db), "MEDIA_ROOT": str(tmp_path / "media"), "PYTHONUNBUFFERED": "1"}

    def manage(*args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "embedded schedule" not in result.stdout + result.stderr  # management commands never run it
        return result.stdout

    manage("migrate", "--noinput")
    before = int(re.search(r"CASE-ID (\d+)", manage("shell", "-c", OVERDUE_CASE.format(n=1))).group(1))
    assert _flagged(db) == {before: False}

    # `make run`'s server, with the autoreloader (a watching parent, a serving child).
    log_path = tmp_path / "runserver.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{_free_port()}"], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The case that went overdue while the server was down, by the first run of the sweep.
        wait_for(lambda: _flagged(db)[before], timeout=90, interval=0.3, message="the overdue case to be flagged")
        # A case that goes overdue while it serves, by a later run: nobody calls the sweep.
        later = int(re.search(r"CASE-ID (\d+)", manage("shell", "-c", OVERDUE_CASE.format(n=2))).group(1))
        wait_for(lambda: _flagged(db).get(later), timeout=30, interval=0.3, message="the second case to be flagged")

        def runs() -> Counter:
            return Counter(re.findall(r"embedded schedule: (\S+) \((\S+)\) ran", log_path.read_text()))

        wait_for(lambda: all(runs()[(name, task)] >= 3 for name, task in JOBS.items()), timeout=60,
                 message=f"every job to run three times: {runs()}")
        log = log_path.read_text()
        started = re.findall(r"embedded schedule: started in process (\d+)", log)
        assert len(started) == 1, log  # the serving child only, not the autoreloader's parent
        assert int(started[0]) != server.pid
        assert not re.search(r"embedded schedule: .* failed", log) and "Traceback" not in log, log
        assert (tmp_path / "db.sqlite3-schedule.json").exists()
    finally:
        process_group_end(server)
        time.sleep(0.2)
