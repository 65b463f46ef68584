"""The periodic jobs in the embedded mode (`make run`: SQLite, no Redis, tasks run in process).

In production `celery beat` sends the entries of CELERY_BEAT_SCHEDULE (the outbox recovery sweep, the overdue
sweep, the quarter's rollover, the nightly check) to the workers. The embedded mode has neither beat nor workers, so
the development server runs the same entries itself: a daemon thread in the serving process takes the beat
schedule's entries and runs each task when it is due, in process, one at a time. When an entry is due is decided by
Celery's own schedule classes (`celery.beat.ScheduleEntry`: the same intervals and crontabs, in CELERY_TIMEZONE),
and the time of each entry's last run is kept in a file next to the SQLite database, as beat keeps it in its
schedule file: a server started again runs at once what fell due while it was stopped (a quarter's rollover, the
nightly check), once, and the rest on time. The first start runs every entry once.

Why a thread and not `celery beat` with a worker: both would be processes of their own, and the embedded mode has no
broker they could share (the in-memory transport lives in one process). In process, a job uses Django's own
connection to the SQLite file, which is opened with `transaction_mode` IMMEDIATE and a 20 s timeout: a job and a
request that both write wait for each other instead of failing with "database is locked" (a job that still fails
is run again a minute later).

Started only in the embedded mode, only by `runserver`, and only in the process that serves (with the autoreloader,
its child, RUN_MAIN=true; never the watcher that restarts it): not in tests, other management commands, shells or
production processes.
"""

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from celery.beat import ScheduleEntry
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

RETRY_AFTER = 60.0  # seconds before a job that failed is run again
LONGEST_WAIT = 60.0  # the thread looks at the clock at least this often (a suspended laptop, a clock change)

_started: "EmbeddedSchedule | None" = None


def embedded_schedule_wanted(argv: list[str] | None = None, environ=None) -> bool:
    """Is this process the embedded mode's serving process (`runserver`, without Redis)?"""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if not settings.CELERY_TASK_ALWAYS_EAGER:  # Redis and workers: celery beat runs the schedule
        return False
    if len(argv) < 2 or argv[1] != "runserver":  # tests, other management commands, shells, WSGI servers
        return False
    # Django's autoreloader runs the server in a child process (RUN_MAIN=true); its parent only watches files.
    return "--noreload" in argv or environ.get("RUN_MAIN") == "true"


def embedded_schedule_start() -> "EmbeddedSchedule | None":
    """Start the thread if this process is the embedded mode's serving process (once per process)."""
    global _started
    if _started is not None or not embedded_schedule_wanted():
        return _started
    from worker.celery import app

    _started = EmbeddedSchedule(app, app.conf.beat_schedule or {}, state_path=schedule_state_path())
    _started.start()
    return _started


def schedule_state_path() -> Path | None:
    name = str(settings.DATABASES["default"].get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(f"{name}-schedule.json")


class _QuietRuns(logging.Filter):
    """Celery's "Task … succeeded" line of each run of this thread is left out (the thread says what a run did
    when it did something); failures still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or threading.current_thread().name != THREAD_NAME


THREAD_NAME = "embedded-schedule"


def _task_apply(app, entry: ScheduleEntry):
    """Run the entry's task here and now; returns (succeeded, result or exception)."""
    result = app.tasks[entry.task].apply(args=entry.args, kwargs=entry.kwargs)
    return result.successful(), result.result


class EmbeddedSchedule(threading.Thread):
    """Runs the entries of a beat schedule ({name: {"task", "schedule", "args", "kwargs"}}) when they are due."""

    def __init__(self, app, schedule: dict, *, state_path: Path | None = None,
                 run: Callable[[object, ScheduleEntry], tuple[bool, object]] = _task_apply):
        super().__init__(name=THREAD_NAME, daemon=True)
        self.app, self.state_path, self.run_task = app, state_path, run
        self.stopping = threading.Event()
        self.retry_at: dict[str, float] = {}
        self.runs: dict[str, int] = {}
        last = self._state_read()
        self.entries = {
            name: ScheduleEntry(name=name, task=spec["task"], schedule=spec["schedule"], args=spec.get("args", ()),
                                kwargs=spec.get("kwargs", {}), options=spec.get("options", {}), app=app,
                                last_run_at=last.get(name))
            for name, spec in schedule.items()}
        # Never run here (or no record): due at once, as on beat's first start with an empty schedule file.
        self.never_run = {name for name in self.entries if name not in last}

    def run(self) -> None:
        from django.apps import apps

        while not apps.ready and not self.stopping.wait(0.05):  # started from an app's ready(): every task
            pass                                                  # is registered once all apps are ready
        logging.getLogger("celery.app.trace").addFilter(_QuietRuns())
        logger.info("embedded schedule: started in process %s (%s)", os.getpid(), ", ".join(sorted(self.entries)))
        while not self.stopping.is_set():
            delay = self.tick()
            self.stopping.wait(min(max(delay, 0.05), LONGEST_WAIT))

    def stop(self) -> None:
        self.stopping.set()

    def tick(self) -> float:
        """Run every entry that is due; returns the seconds until the next one may be."""
        delay = LONGEST_WAIT
        for name in list(self.entries):
            if self.stopping.is_set():
                break
            retry = self.retry_at.get(name)
            if retry is not None and time.monotonic() < retry:
                delay = min(delay, retry - time.monotonic())
                continue
            if retry is None and name not in self.never_run:
                due, next_in = self.entries[name].is_due()
                if not due:
                    delay = min(delay, next_in)
                    continue
            self.run_entry(name)
            delay = min(delay, RETRY_AFTER if name in self.retry_at else self.entries[name].is_due()[1])
        return delay

    def run_entry(self, name: str) -> bool:
        entry = self.entries[name]
        started = time.monotonic()
        try:
            succeeded, value = self.run_task(self.app, entry)
        except Exception as exc:  # a job's failure must not end the thread
            succeeded, value = False, exc
        finally:
            connections.close_all()  # this thread's connection; the next run opens a fresh one
        self.runs[name] = self.runs.get(name, 0) + 1
        if not succeeded:
            self.retry_at[name] = time.monotonic() + RETRY_AFTER
            logger.warning("embedded schedule: %s (%s) failed, run again in %.0f s: %r", name, entry.task,
                           RETRY_AFTER, value)
            return False
        self.retry_at.pop(name, None)
        self.never_run.discard(name)
        self.entries[name] = next(entry)  # last run: now
        self._state_write()
        level = logging.INFO if value else logging.DEBUG  # a sweep that found nothing says so quietly
        logger.log(level, "embedded schedule: %s (%s) ran in %.2f s: %s", name, entry.task,
                   time.monotonic() - started, value)
        return True

    def _state_read(self) -> dict[str, datetime]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            return {name: datetime.fromisoformat(moment) for name, moment in
                    json.loads(self.state_path.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError, AttributeError) as exc:
            logger.warning("embedded schedule: %s unreadable, every job runs now: %s", self.state_path, exc)
            return {}

    def _state_write(self) -> None:
        if self.state_path is None:
            return
        state = {name: entry.last_run_at.isoformat() for name, entry in self.entries.items()
                 if name not in self.never_run}
        try:
            temporary = self.state_path.with_name(self.state_path.name + ".tmp")
            temporary.write_text(json.dumps(state, indent=1), encoding="utf-8")
            temporary.replace(self.state_path)
        except OSError as exc:
            logger.warning("embedded schedule: %s not written: %s", self.state_path, exc)
