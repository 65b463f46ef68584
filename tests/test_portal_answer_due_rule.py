"""The answer-by date of an online dossier, as a rule checked over random submissions (Hypothesis), not one weekend.

Rule (applicants/submissions.py, answer_due): the officers answer a submitted dossier (receive it, ask for a
supplement, or refuse to receive it) by the office's closing time of the ONLINE_ANSWER_WORKING_DAYS-th working day
after the day it was submitted, on Vietnam's calendar as the administrators corrected it (CalendarDay); the queue
marks it late once that moment has passed. So, for any moment of submission and any number of days N:

- the answer-by moment is the office's closing time, on a working day;
- N working days lie between the day of submission and that day, and that day is the first such (N = 0: the
  first working day from the day of submission);
- a later submission is never due earlier;
- an extra day off that an administrator adds inside that span moves it exactly one working day later, and one
  added after it changes nothing;
- the "late" mark is shown exactly when now is past it (checked on the queue and on the dossier's page).
"""

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applicants.models import Submission
from applicants.submissions import answer_due
from cases.deadlines import WorkCalendar
from cases.models import CalendarDay

from .support_portal_submit import applicant, submitted  # noqa: F401 (fixture)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 1, 1, tzinfo=HCM)  # Tết 2026 and 2027, 30/4, 1/5, 2/9 and the weekends in between
MOMENTS = st.integers(min_value=0, max_value=2 * 365 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
DAYS = st.integers(min_value=0, max_value=5)
RULE = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _due(moment: datetime, calendar: WorkCalendar) -> datetime:
    return answer_due(SimpleNamespace(submitted_at=moment), calendar=calendar)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(HCM).date()


@pytest.mark.django_db
@RULE
@given(submitted=MOMENTS, later_by=st.integers(min_value=0, max_value=20 * 24 * 60), days=DAYS)
def test_the_answer_by_moment_is_the_closing_time_of_the_nth_working_day_after_submission(submitted, later_by, days):
    calendar = WorkCalendar()
    with override_settings(ONLINE_ANSWER_WORKING_DAYS=days):
        due = _due(submitted, calendar)
        later = _due(submitted + timedelta(minutes=later_by), calendar)
    local = due.astimezone(HCM)
    assert (local.hour, local.minute, local.second) == (django_settings.OFFICE_CLOSE_HOUR, 0, 0)
    day, start = local.date(), _local_day(submitted)
    assert calendar.is_working_day(day), day
    if days == 0:
        assert day == calendar.next_working_day(start)
    else:
        assert calendar.working_days_between(start, day) == days
        assert calendar.working_days_between(start, day - timedelta(days=1)) == days - 1  # the first such day
    assert later >= due


@pytest.mark.django_db
@RULE
@given(submitted=MOMENTS, days=st.integers(min_value=1, max_value=5), pick=st.integers(min_value=0, max_value=99),
       after=st.integers(min_value=1, max_value=30))
def test_an_extra_day_off_inside_the_span_moves_it_one_working_day_and_one_after_it_nothing(submitted, days, pick,
                                                                                          after):
    with override_settings(ONLINE_ANSWER_WORKING_DAYS=days):
        before = _due(submitted, WorkCalendar())
        start, end = _local_day(submitted), _local_day(before)
        span = [start + timedelta(days=n) for n in range(1, (end - start).days + 1)]
        working = [day for day in span if WorkCalendar().is_working_day(day)]
        inside = working[pick % len(working)]
        CalendarDay.objects.create(date=inside, kind=CalendarDay.Kind.DAY_OFF, note="Nghỉ bù (thử)")
        try:
            moved = _due(submitted, WorkCalendar())
            assert _local_day(moved) == WorkCalendar().add_working_days(end, 1)  # the next working day after
            assert WorkCalendar().working_days_between(start, _local_day(moved)) == days
        finally:
            CalendarDay.objects.filter(date=inside).delete()
        outside = end + timedelta(days=after)
        CalendarDay.objects.create(date=outside, kind=CalendarDay.Kind.DAY_OFF, note="Nghỉ (thử)")
        try:
            assert _due(submitted, WorkCalendar()) == before
        finally:
            CalendarDay.objects.filter(date=outside).delete()


@pytest.fixture
def queued(applicant, officer):  # noqa: F811
    """One dossier submitted online, and a client signed in as the licensing officer who reads the online queue."""
    from django.test import Client

    client = Client()
    client.force_login(officer)
    return submitted(applicant), client


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(offset=st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60))
def test_the_queue_marks_a_dossier_late_exactly_when_now_is_past_its_answer_by_moment(queued, offset):
    submission, client = queued
    due = answer_due(Submission.objects.get(pk=submission.pk))
    now = due + timedelta(minutes=offset) if offset else due
    with time_machine.travel(now, tick=False):
        page = client.get(reverse("portal-office:queue")).content.decode()
        detail = client.get(reverse("portal-office:submission", args=[submission.uuid])).content.decode()
    row = page[page.index(f'data-submission="{submission.uuid}"'):]
    row = row[:row.index("</tr>")]
    assert ('class="badge late"' in row) == (now > due), (now, due)
    answer = detail[detail.index('id="answer-due"'):]
    assert ('class="badge late"' in answer[:answer.index("</dd>")]) == (now > due), (now, due)
