"""Due dates on Vietnam's working calendar (DESIGN.md, "Licensing procedures" and time limits).

Every expected date below was worked out by hand from the real calendar; the comment next to it
shows the count. Rules: counting starts the day after receipt (local date, Asia/Ho_Chi_Minh); a day
limit that ends on a rest day moves to the next working day; a day limit ends at 17:00 local; hours
stay hours. Working days: the `holidays` package (VN) corrected by the CalendarDay admin table.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.deadlines import WorkCalendar, clock_used_compute, due_at_compute
from cases.models import CalendarDay, CaseEvent, CaseType, LimitUnit

from .factories import case_make

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(y, m, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=VN)


def close(y, m, d) -> datetime:
    """A day limit's end: office close, 17:00 local."""
    return vn(y, m, d, 17)


def receive(officer, code: str, when: datetime):
    """A case received through the service at `when` (the clock is frozen there)."""
    with time_machine.travel(when, tick=False):
        return case_make(actor=officer, type_code=code, received_at=when)


# --- The calendar itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2019, 4, 26), True),   # Friday before the long weekend
        (date(2019, 4, 29), False),  # Monday, day off swapped with Saturday 04/05/2019
        (date(2019, 4, 30), False),  # Liberation Day
        (date(2019, 5, 1), False),   # Labour Day
        (date(2019, 5, 2), True),    # Thursday
        (date(2019, 5, 4), True),    # Saturday, make-up working day
        (date(2019, 5, 5), False),   # Sunday
        (date(2019, 5, 11), False),  # an ordinary Saturday
        (date(2020, 1, 1), False),   # New Year's Day
        (date(2020, 1, 22), True),   # Wednesday before Tết
        (date(2020, 1, 23), False),  # Tết 2020: 23–29/01 off
        (date(2020, 1, 24), False),
        (date(2020, 1, 27), False),
        (date(2020, 1, 28), False),
        (date(2020, 1, 29), False),
        (date(2020, 1, 30), True),   # first working day after Tết
    ],
)
def test_vietnam_working_days_2019_2020(day, working):
    assert WorkCalendar().is_working_day(day) is working


def test_working_days_between_counts_after_start_up_to_end_and_skips_tet():
    calendar = WorkCalendar(overrides={})
    # (20/01, 17/02/2020]: 21, 22 | Tết 23–29 | 30, 31, 03–07/02, 10–14/02, 17/02 = 2 + 2 + 5 + 5 + 1 = 15
    assert calendar.working_days_between(date(2020, 1, 20), date(2020, 2, 17)) == 15
    # (22/01, 29/01/2020]: all of Tết, nothing to count
    assert calendar.working_days_between(date(2020, 1, 22), date(2020, 1, 29)) == 0
    # (01/05, 06/05/2019]: Thu 02, Fri 03, make-up Sat 04, Mon 06 = 4
    assert calendar.working_days_between(date(2019, 5, 1), date(2019, 5, 6)) == 4


def test_next_working_day_after_tet():
    calendar = WorkCalendar(overrides={})
    assert calendar.next_working_day(date(2020, 1, 23)) == date(2020, 1, 30)  # Tết 23–29/01 off
    assert calendar.next_working_day(date(2020, 1, 22)) == date(2020, 1, 22)  # already a working day
    assert calendar.next_working_day(date(2019, 4, 27)) == date(2019, 5, 2)  # Sat 27, Sun 28, 29/04–01/05 off


# --- printing_licence: 15 working days, skips Tết 2020 ----------------------------------------------


def test_printing_licence_terms_are_15_working_days():
    terms = CaseType.objects.get(code="printing_licence").terms_on(date(2020, 1, 20))
    assert (terms.limit_amount, terms.limit_unit) == (15, LimitUnit.WORKING_DAYS)


def test_printing_licence_received_20_01_2020_skips_tet(officer):
    case = receive(officer, "printing_licence", vn(2020, 1, 20, 9, 30))
    # 21, 22/01 (2) | Tết 23–29/01 off | 30, 31/01 (4) | 03–07/02 (9) | 10–14/02 (14) | Mon 17/02 (15)
    assert case.due_at == close(2020, 2, 17)
    created = case.events.get(kind=CaseEvent.Kind.CREATED)
    assert datetime.fromisoformat(created.after["due_at"]) == close(2020, 2, 17)


def test_printing_licence_due_date_computed_directly():
    due = due_at_compute(start=vn(2020, 1, 20, 9, 30), amount=15, unit=LimitUnit.WORKING_DAYS)
    assert due == close(2020, 2, 17)  # same count as above: 2 + 2 + 5 + 5 + 1
    assert due.astimezone(VN).hour == 17


def test_printing_licence_across_tet_2019(officer):
    case = receive(officer, "printing_licence", vn(2019, 2, 1, 10))
    # Fri 01/02/2019; Tết 04–08/02 off | 11–15/02 (5) | 18–22/02 (10) | 25/02–01/03 (15) → Fri 01/03/2019
    assert case.due_at == close(2019, 3, 1)


# --- print_registration: 3 working days, the 2019 make-up Saturday ---------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Thu 02/05/2019: Fri 03 (1), make-up Sat 04 (2), Sun 05 off, Mon 06 (3)
        (vn(2019, 5, 2, 9), close(2019, 5, 6)),
        # Fri 26/04/2019: Sat 27, Sun 28, 29/04–01/05 off; Thu 02 (1), Fri 03 (2), make-up Sat 04 (3)
        (vn(2019, 4, 26, 14), close(2019, 5, 4)),
        # Thu 25/04/2019: Fri 26 (1); 27/04–01/05 off; Thu 02 (2), Fri 03 (3)
        (vn(2019, 4, 25, 8), close(2019, 5, 3)),
        # Mon 30/12/2019: Tue 31 (1); 01/01/2020 off; Thu 02 (2), Fri 03 (3)
        (vn(2019, 12, 30, 15), close(2020, 1, 3)),
    ],
)
def test_print_registration_three_working_days(officer, received, due):
    case = receive(officer, "print_registration", received)
    assert case.due_at == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # 23:30 local on Thu 02/05 (16:30 UTC): still 02/05 locally → Fri 03, Sat 04, Mon 06
        (vn(2019, 5, 2, 23, 30), close(2019, 5, 6)),
        # 00:30 local on Fri 03/05 (17:30 UTC on 02/05): the local day is 03/05 → Sat 04, Mon 06, Tue 07
        (vn(2019, 5, 3, 0, 30), close(2019, 5, 7)),
    ],
)
def test_receipt_day_is_the_local_day_not_the_utc_day(officer, received, due):
    case = receive(officer, "print_registration", received)
    assert case.due_at == due


# --- bulletin: 30 calendar days, moved off rest days ------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Mon 04/11/2019 + 30 days = Wed 04/12/2019, a working day (weekends inside the 30 days count)
        (vn(2019, 11, 4, 9), close(2019, 12, 4)),
        # Fri 01/03/2019 + 30 = Sun 31/03/2019 → Mon 01/04/2019
        (vn(2019, 3, 1, 9), close(2019, 4, 1)),
        # Mon 01/04/2019 + 30 = Wed 01/05/2019 (Labour Day) → Thu 02/05/2019
        (vn(2019, 4, 1, 9), close(2019, 5, 2)),
        # Tue 24/12/2019 + 30 = Thu 23/01/2020 (Tết, off to 29/01) → Thu 30/01/2020
        (vn(2019, 12, 24, 9), close(2020, 1, 30)),
        # Thu 04/04/2019 + 30 = Sat 04/05/2019, the make-up working day: it stays
        (vn(2019, 4, 4, 9), close(2019, 5, 4)),
    ],
)
def test_bulletin_calendar_days_end_on_a_working_day(officer, received, due):
    case = receive(officer, "bulletin", received)
    assert case.due_at == due


def test_calendar_days_direct_counts_from_the_local_receipt_day():
    # 23:30 local on Fri 01/03/2019 is still 01/03 locally: +30 = Sun 31/03 → Mon 01/04/2019
    due = due_at_compute(start=vn(2019, 3, 1, 23, 30), amount=30, unit=LimitUnit.CALENDAR_DAYS,
                         calendar=WorkCalendar(overrides={}))
    assert due == close(2019, 4, 1)


# --- press_conference: 12 hours, hours stay hours ---------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # 31/12/2019 20:00 + 12 h = 01/01/2020 08:00: New Year's Day and office hours are ignored
        (vn(2019, 12, 31, 20), vn(2020, 1, 1, 8)),
        # Fri 24/01/2020 (Tết) 10:15:30 + 12 h = 22:15:30 the same day, not moved to 17:00 or after Tết
        (vn(2020, 1, 24, 10, 15, 30), vn(2020, 1, 24, 22, 15, 30)),
    ],
)
def test_press_conference_twelve_hours_ignore_holidays(officer, received, due):
    case = receive(officer, "press_conference", received)
    assert case.due_at == due


def test_hours_direct():
    # 31/12/2019 20:00 local = 13:00 UTC; + 12 h = 01/01/2020 01:00 UTC = 08:00 local
    due = due_at_compute(start=vn(2019, 12, 31, 20), amount=12, unit=LimitUnit.HOURS)
    assert due == datetime(2020, 1, 1, 1, 0, tzinfo=ZoneInfo("UTC"))


# --- The CalendarDay admin table --------------------------------------------------------------------


def test_extra_day_off_pushes_the_due_date(officer):
    before = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    # Mon 02/12/2019: Tue 03 (1), Wed 04 (2), Thu 05 (3)
    assert before.due_at == close(2019, 12, 5)
    CalendarDay.objects.create(date=date(2019, 12, 4), kind=CalendarDay.Kind.DAY_OFF, note="Nghỉ bù (thử)")
    after = receive(officer, "print_registration", vn(2019, 12, 2, 10))
    # with Wed 04/12 off: Tue 03 (1), Thu 05 (2), Fri 06 (3)
    assert after.due_at == close(2019, 12, 6)


def test_make_up_working_day_pulls_the_due_date(officer):
    before = receive(officer, "print_registration", vn(2019, 12, 5, 9))
    # Thu 05/12/2019: Fri 06 (1), Mon 09 (2), Tue 10 (3)
    assert before.due_at == close(2019, 12, 10)
    CalendarDay.objects.create(date=date(2019, 12, 7), kind=CalendarDay.Kind.WORKING_DAY, note="Làm bù")
    after = receive(officer, "print_registration", vn(2019, 12, 5, 10))
    # with Sat 07/12 a working day: Fri 06 (1), Sat 07 (2), Mon 09 (3)
    assert after.due_at == close(2019, 12, 9)


def test_admin_day_off_overrides_the_packages_make_up_saturday(officer):
    CalendarDay.objects.create(date=date(2019, 5, 4), kind=CalendarDay.Kind.DAY_OFF)
    case = receive(officer, "print_registration", vn(2019, 5, 2, 9))
    # Thu 02/05/2019 with Sat 04 off after all: Fri 03 (1), Mon 06 (2), Tue 07 (3)
    assert case.due_at == close(2019, 5, 7)


def test_admin_working_day_overrides_a_package_holiday():
    calendar = WorkCalendar(overrides={date(2020, 1, 29): CalendarDay.Kind.WORKING_DAY})
    # Mon 20/01/2020, 3 working days: Tue 21 (1), Wed 22 (2), Tết 23–28 off, Wed 29 now worked (3)
    assert due_at_compute(start=vn(2020, 1, 20, 9), amount=3, unit=LimitUnit.WORKING_DAYS,
                          calendar=calendar) == close(2020, 1, 29)


def test_calendar_day_limit_follows_the_admin_table(officer):
    CalendarDay.objects.create(date=date(2019, 12, 4), kind=CalendarDay.Kind.DAY_OFF)
    CalendarDay.objects.create(date=date(2019, 12, 7), kind=CalendarDay.Kind.WORKING_DAY)
    pushed = receive(officer, "bulletin", vn(2019, 11, 4, 9))
    # Mon 04/11/2019 + 30 = Wed 04/12, now a day off → Thu 05/12/2019
    assert pushed.due_at == close(2019, 12, 5)
    pulled = receive(officer, "bulletin", vn(2019, 11, 7, 9))
    # Thu 07/11/2019 + 30 = Sat 07/12, now a working day: it stays (without the row: Mon 09/12)
    assert pulled.due_at == close(2019, 12, 7)


# --- What the clock consumed ------------------------------------------------------------------------


def test_clock_used_working_days():
    calendar = WorkCalendar(overrides={})
    # (13/01, 22/01/2020]: 14, 15, 16, 17, 20, 21, 22 = 7
    assert clock_used_compute(start=vn(2020, 1, 13, 9), until=vn(2020, 1, 22, 10),
                              unit=LimitUnit.WORKING_DAYS, calendar=calendar) == 7
    # (20/01, 31/01/2020]: 21, 22 | Tết | 30, 31 = 4
    assert clock_used_compute(start=vn(2020, 1, 20, 9), until=vn(2020, 1, 31, 16),
                              unit=LimitUnit.WORKING_DAYS, calendar=calendar) == 4
    # the receipt day itself is not counted
    assert clock_used_compute(start=vn(2020, 1, 20, 9), until=vn(2020, 1, 20, 16),
                              unit=LimitUnit.WORKING_DAYS, calendar=calendar) == 0
    # 20/01 23:30 and 21/01 00:30 local are the same UTC day but different local days: 21/01 counts
    assert clock_used_compute(start=vn(2020, 1, 20, 23, 30), until=vn(2020, 1, 21, 0, 30),
                              unit=LimitUnit.WORKING_DAYS, calendar=calendar) == 1


def test_clock_used_calendar_days_and_hours():
    # (20/01, 31/01/2020]: 11 calendar days, Tết included
    assert clock_used_compute(start=vn(2020, 1, 20, 9), until=vn(2020, 1, 31, 9),
                              unit=LimitUnit.CALENDAR_DAYS) == 11
    # 20:00 → 23:29:30 = 3 h 29 min 30 s = 12 570 s
    assert clock_used_compute(start=vn(2019, 12, 31, 20), until=vn(2019, 12, 31, 23, 29, 30),
                              unit=LimitUnit.HOURS) == 12570


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError):
        due_at_compute(start=vn(2020, 1, 20, 9), amount=3, unit="fortnights", calendar=WorkCalendar(overrides={}))
