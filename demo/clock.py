"""The demo's clock and how its tasks run: each step with the clock set to its moment, and the tasks it causes in
process, at once, under that same clock (whatever the environment says about Redis)."""

import logging
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.test.utils import override_settings

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
# Loggers that speak once per task or per email (or per frozen quarter) while the demo is built.
CHATTY = ("celery.app.trace", "celery", "worker.outbox", "reports.services")


def at(moment: datetime):
    """The clock stands still at `moment` (everything a step does, its tasks included, carries that time)."""
    return time_machine.travel(moment, tick=False)


@contextmanager
def in_process(*, quiet: bool = True):
    """Tasks run in process as soon as their transaction commits (the embedded mode's way), so that a step's
    tasks (intake, the issue and its number, letters) run under the step's clock; emails go nowhere (the demo's
    applicants are not real) and are marked sent. `quiet`: the per-task log lines are not shown."""
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    if quiet:
        for name in CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=True,
                               EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
